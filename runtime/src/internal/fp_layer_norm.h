/*
 * fp_layer_norm.h - the integer layer normalization shared by
 * fp_layer_norm_s8 / fp_layer_norm_s16 (docs/kernels.md "layer_norm").
 */
#ifndef FP_LAYER_NORM_H
#define FP_LAYER_NORM_H

#include "fp_runtime.h"
#include "fp_requant.h"
#include "fp_misc_check.h"

#define FP_LN_MAX_DEPTH 32767
#define FP_LN_FRAC_BITS 15
#define FP_LN_MAX_BETA ((int64_t)1 << 46)

/* floor(sqrt(v)), bit by bit (exact for every uint64). */
static inline uint64_t fp_isqrt_u64(uint64_t v)
{
    uint64_t res = 0;
    uint64_t bit = (uint64_t)1 << 62;
    while (bit > v) {
        bit >>= 2;
    }
    while (bit != 0) {
        if (v >= res + bit) {
            v -= res + bit;
            res = (res >> 1) + bit;
        } else {
            res >>= 1;
        }
        bit >>= 2;
    }
    return res;
}

/* The integer inverse square root of V > 0 (V < 2^62): V is scaled by 4^g,
 * g = (62 - bitlen(V)) / 2, so that 2^60 <= V * 4^g < 2^62; s = isqrt(V * 4^g)
 * lies in [2^30, 2^31) and r = floor(2^61 / s) in (2^30, 2^31]. Then
 * 1 / sqrt(V) ~ r * 2^(g - 61); *shift receives 61 - g - FP_LN_FRAC_BITS. */
static inline int64_t fp_ln_rsqrt(uint64_t v, int32_t *shift)
{
    int32_t bits = 0;
    int32_t g;
    uint64_t s;
    uint64_t t = v;
    while (t != 0) {
        ++bits;
        t >>= 1;
    }
    g = (62 - bits) / 2;
    s = fp_isqrt_u64(v << (2 * g));
    *shift = 61 - g - FP_LN_FRAC_BITS;
    return (int64_t)((((uint64_t)1) << 61) / s);
}

/* d * r / 2^shift rounded half away from zero (|d * r| < 2^62, shift in [16, 46]). */
static inline int32_t fp_ln_scale(int64_t d, int64_t r, int32_t shift)
{
    uint64_t mag = (uint64_t)(d < 0 ? -d : d) * (uint64_t)r;
    int64_t q = (int64_t)((mag + ((uint64_t)1 << (shift - 1))) >> shift);
    return (int32_t)(d < 0 ? -q : q);
}

static inline int fp_ln_params_valid(const fp_layer_norm_params_t *p, int32_t lo, int32_t hi, int s16)
{
    int32_t i;
    int32_t limit = s16 ? 0 : 255;
    if (p->rows < 1 || p->depth < 1 || p->depth > FP_LN_MAX_DEPTH || p->inner < 1 || p->rows % p->inner != 0 ||
        p->gamma == NULL || p->beta == NULL) {
        return 0;
    }
    if (p->input_offset < -limit || p->input_offset > limit || p->output_offset < lo || p->output_offset > hi ||
        p->eps_term < 0 || p->eps_term > ((int64_t)1 << 60)) {
        return 0;
    }
    for (i = 0; i < p->depth; ++i) {
        if (p->beta[i] < -FP_LN_MAX_BETA || p->beta[i] > FP_LN_MAX_BETA) {
            return 0;
        }
    }
    if (!fp_rq_scale_legal(p->output_scale.multiplier, p->output_scale.shift, p->mode, 1)) {
        return 0;
    }
    return lo <= p->act_min && p->act_min <= p->act_max && p->act_max <= hi;
}

/* One vector: x[j * inner] for j < depth (int32 values already read). */
#define FP_LN_VECTOR(T, p, x, out)                                                                  \
    do {                                                                                           \
        int64_t sum_ = 0;                                                                          \
        int64_t sq_ = 0;                                                                           \
        int64_t r_ = 0;                                                                            \
        int32_t sh_ = FP_LN_FRAC_BITS + 1;                                                         \
        uint64_t v_;                                                                               \
        int32_t j_;                                                                                \
        for (j_ = 0; j_ < (p)->depth; ++j_) {                                                      \
            int64_t c_ = (int64_t)(x)[j_ * (p)->inner] + (p)->input_offset;                        \
            sum_ += c_;                                                                            \
            sq_ += c_ * c_;                                                                        \
        }                                                                                          \
        v_ = (uint64_t)((p)->depth * sq_ - sum_ * sum_) + (uint64_t)(p)->eps_term;                 \
        if (v_ != 0) {                                                                             \
            r_ = fp_ln_rsqrt(v_, &sh_);                                                            \
        }                                                                                          \
        for (j_ = 0; j_ < (p)->depth; ++j_) {                                                      \
            int64_t d_ = (int64_t)(p)->depth * ((int64_t)(x)[j_ * (p)->inner] + (p)->input_offset) - sum_; \
            int32_t t_ = v_ != 0 ? fp_ln_scale(d_, r_, sh_) : 0;                                   \
            int64_t acc_ = (int64_t)t_ * (p)->gamma[j_] + (p)->beta[j_];                           \
            int64_t o_ = (int64_t)fp_requant64(acc_, (p)->output_scale.multiplier,                 \
                                               (p)->output_scale.shift, (p)->mode) + (p)->output_offset; \
            o_ = o_ < (p)->act_min ? (p)->act_min : (o_ > (p)->act_max ? (p)->act_max : o_);       \
            (out)[j_ * (p)->inner] = (T)o_;                                                        \
        }                                                                                          \
    } while (0)

#endif /* FP_LAYER_NORM_H */
