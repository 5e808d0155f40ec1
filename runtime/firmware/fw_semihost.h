/*
 * fw_semihost.h - Arm/RISC-V semihosting, used on QEMU boards only
 * (board.toml launch.semihosting = true defines FW_SEMIHOSTING=1).
 *
 * On a real board without a debugger a semihosting trap is a fault, so no
 * code path reaches these functions unless FW_SEMIHOSTING is set.
 */
#ifndef FW_SEMIHOST_H
#define FW_SEMIHOST_H

#include <stdint.h>

#define FW_SEMIHOST_SYS_WRITE0 0x04u
#define FW_SEMIHOST_SYS_EXIT_EXTENDED 0x20u
#define FW_SEMIHOST_APPLICATION_EXIT 0x20026u

/* The architecture's semihosting trap (startup/cortexm.c, startup/riscv.S). */
uint32_t fw_semihost_call(uint32_t op, const void *arg);

/* Write a NUL-terminated string to the debugger console (QEMU's stdout). */
void fw_semihost_write(const char *s);
/* End the simulation with `code` as QEMU's exit status. */
void fw_semihost_exit(int code);

#endif /* FW_SEMIHOST_H */
