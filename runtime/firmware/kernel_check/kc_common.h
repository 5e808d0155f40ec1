/*
 * kc_common.h - shared pieces of the kernel check and benchmark firmware:
 * semihosting output, a tiny printf subset, the PRNG.
 */
#ifndef KC_COMMON_H
#define KC_COMMON_H

#include <stddef.h>
#include <stdint.h>

void kc_write(const char *s);
void kc_exit(int code);

/* snprintf subset: %d %u %s %x (32-bit) and %U (uint64_t decimal). */
void kc_format(char *out, size_t cap, const char *fmt, ...);

/* xorshift64* with a fixed seed: the same cases on every run and board. */
typedef struct {
    uint64_t s;
} kc_rng_t;

static inline uint32_t kc_next(kc_rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return (uint32_t)((r->s * 0x2545F4914F6CDD1DULL) >> 32);
}

/* Uniform-ish integer in [lo, hi] (hi - lo < 2^32). */
static inline int32_t kc_range(kc_rng_t *r, int32_t lo, int32_t hi)
{
    const uint64_t span = (uint64_t)((int64_t)hi - lo) + 1u;
    return (int32_t)((int64_t)lo + (int64_t)(kc_next(r) % span));
}

#endif /* KC_COMMON_H */
