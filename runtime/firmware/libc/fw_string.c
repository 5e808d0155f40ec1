/*
 * fw_string.c - byte-wise memcpy & co. for freestanding boards.
 *
 * Built with -ffreestanding -fno-tree-loop-distribute-patterns (board
 * cflags): otherwise GCC recognises these loops as memcpy/memset and calls
 * them from themselves. GCC also emits calls to memcpy/memset for struct
 * copies even in freestanding mode, which is why they must exist at all.
 */
#include <string.h>

#include <stdint.h>

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    while (n-- > 0u) {
        *d++ = *s++;
    }
    return dst;
}

/* Direction chosen by address order, compared as integers (ordering
 * pointers into different objects is undefined in C). */
void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if ((uintptr_t)d <= (uintptr_t)s) {
        while (n-- > 0u) {
            *d++ = *s++;
        }
    } else {
        while (n-- > 0u) {
            d[n] = s[n];
        }
    }
    return dst;
}

void *memset(void *dst, int value, size_t n)
{
    unsigned char *d = dst;

    while (n-- > 0u) {
        *d++ = (unsigned char)value;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a;
    const unsigned char *y = b;
    size_t i;

    for (i = 0; i < n; ++i) {
        if (x[i] != y[i]) {
            return x[i] < y[i] ? -1 : 1;
        }
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n] != '\0') {
        ++n;
    }
    return n;
}
