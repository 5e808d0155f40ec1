/* kc_format.c - the printf subset of kc_common.h (no libc stdio needed). */
#include <stdarg.h>

#include "kc_common.h"

static void put(char *out, size_t cap, size_t *n, char c)
{
    if (*n + 1 < cap) {
        out[*n] = c;
    }
    (*n)++;
}

static void put_u64(char *out, size_t cap, size_t *n, uint64_t v, unsigned base)
{
    char digits[24];
    int k = 0;
    do {
        digits[k++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0u);
    while (k > 0) {
        put(out, cap, n, digits[--k]);
    }
}

void kc_format(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    size_t n = 0;
    va_start(ap, fmt);
    for (; *fmt != '\0'; ++fmt) {
        if (*fmt != '%' || fmt[1] == '\0') {
            put(out, cap, &n, *fmt);
            continue;
        }
        ++fmt;
        if (*fmt == 'd') {
            const int32_t v = va_arg(ap, int32_t);
            if (v < 0) {
                put(out, cap, &n, '-');
            }
            put_u64(out, cap, &n, v < 0 ? (uint64_t)(-(int64_t)v) : (uint64_t)v, 10u);
        } else if (*fmt == 'u') {
            put_u64(out, cap, &n, va_arg(ap, uint32_t), 10u);
        } else if (*fmt == 'x') {
            put_u64(out, cap, &n, va_arg(ap, uint32_t), 16u);
        } else if (*fmt == 'U') {
            put_u64(out, cap, &n, va_arg(ap, uint64_t), 10u);
        } else if (*fmt == 's') {
            const char *s = va_arg(ap, const char *);
            while (*s != '\0') {
                put(out, cap, &n, *s++);
            }
        } else {
            put(out, cap, &n, *fmt);
        }
    }
    va_end(ap);
    if (cap > 0) {
        out[n < cap ? n : cap - 1] = '\0';
    }
}
