/*
 * string.h - the part of <string.h> the runtime and firmware use, for
 * freestanding boards without a C library (riscv32-virt: Debian ships the
 * RISC-V compiler without newlib). Arm boards use newlib-nano instead.
 */
#ifndef FW_LIBC_STRING_H
#define FW_LIBC_STRING_H

#include <stddef.h>

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int value, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

#endif /* FW_LIBC_STRING_H */
