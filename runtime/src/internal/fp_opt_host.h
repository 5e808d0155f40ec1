/*
 * fp_opt_host.h - host-only (FP_OPT_HOST_SIMD) requantization of 16 output
 * channels at once for the portable optimized (_opt) kernels.
 *
 * The simulator requantizes every output of every layer (tens of thousands
 * per sample); scalar or auto-vectorised with a run-time trip count it costs
 * more than the multiply-accumulates. Here the DOUBLE mode (TFLite's) runs on
 * GNU C vectors of 16 int32 lanes with the per-channel constants prepared
 * once per call (fp_opt_rq16_prepare), the same arithmetic as
 * fp_opt_rq_double (fp_opt_mac.h: the derivations are there) lane by lane:
 * only the 32x32 multiply is widened, as even and odd 64-bit lanes.
 * MCU builds never include the vector code (FP_OPT_HOST_SIMD is 0 there).
 */
#ifndef FP_OPT_HOST_H
#define FP_OPT_HOST_H

#include <string.h>

#include "fp_opt_mac.h"

#if FP_OPT_HOST_SIMD

typedef uint32_t fp_opt_vu32 __attribute__((vector_size(64)));
typedef int64_t fp_opt_v64 __attribute__((vector_size(64)));
typedef uint64_t fp_opt_vu64 __attribute__((vector_size(64)));
typedef int8_t fp_opt_v8 __attribute__((vector_size(16)));
typedef int16_t fp_opt_v16 __attribute__((vector_size(32)));
/* 16 int8 at any address (a plain vector load) */
typedef int8_t fp_opt_v8u __attribute__((vector_size(16), aligned(1), may_alias));

/* Output channels per host requantization chunk. */
#define FP_OPT_RQ_CHUNK FP_OPT_LANES
/* Channels a layer may have for the host paths (their constants live on the stack). */
#define FP_OPT_HOST_CH_MAX 1024

/* Per-channel constants of one chunk of 16 output channels. */
typedef struct {
    fp_opt_v32 bias;  /* 0 without bias */
    fp_opt_v32 mult;  /* Q31 multiplier */
    fp_opt_vu32 left; /* left shift, 0..31 */
    fp_opt_v32 hi;    /* x above it saturates to INT32_MAX when shifted left */
    fp_opt_v32 lo;    /* x below it saturates to INT32_MIN */
    fp_opt_vu32 right; /* rounding right shift, 0..31 */
    fp_opt_v32 mask;  /* 2^right - 1 */
    fp_opt_v32 half;  /* mask >> 1 */
    fp_opt_vu32 bias_floor; /* 2^31 >> right */
} fp_opt_rq16_t;

/* The layer's output constants (offset, activation range) as vectors. */
typedef struct {
    fp_opt_v32 offset;
    fp_opt_v32 act_min;
    fp_opt_v32 act_max;
} fp_opt_out16_t;

/* 1 when the host requantization applies: DOUBLE mode and at most
 * FP_OPT_HOST_CH_MAX channels. */
static inline int fp_opt_rq16_ok(const fp_requant_t *rq, int32_t c_out)
{
    return fp_rq_plain_double(rq->mode) && c_out > 0 && c_out <= FP_OPT_HOST_CH_MAX;
}

/* Constants of channels [0, c_out) into chunks[(c_out + 15) / 16] (pad lanes repeat channel 0). */
static inline void fp_opt_rq16_prepare(const fp_requant_t *rq, const int32_t *bias, int32_t c_out,
                                       fp_opt_rq16_t *chunks)
{
    const uint8_t bits = (uint8_t)(rq->mode.multiplier_bits < 2 ? 2
                                   : (rq->mode.multiplier_bits > 32 ? 32 : rq->mode.multiplier_bits));
    int32_t c;
    for (c = 0; c < (c_out + FP_OPT_LANES - 1) / FP_OPT_LANES * FP_OPT_LANES; ++c) {
        fp_opt_rq16_t *k = chunks + c / FP_OPT_LANES;
        const int32_t j = c % FP_OPT_LANES;
        const int32_t oc = c < c_out ? c : 0;
        const int32_t shift = rq->n == 1 ? rq->shift[0] : rq->shift[oc];
        const int32_t s = shift > 64 ? 64 : (shift < -64 ? -64 : shift);
        const int32_t left = s > 0 ? (s < 31 ? s : 31) : 0;
        const int32_t right = s < 0 ? (-s < 31 ? -s : 31) : 0;
        const uint32_t room = (uint32_t)1 << (31 - left);
        const uint32_t mask = ((uint32_t)1 << right) - 1u;
        k->bias[j] = bias != NULL ? bias[oc] : 0;
        k->mult[j] = fp_multiplier_q31(rq->n == 1 ? rq->multiplier[0] : rq->multiplier[oc], bits);
        k->left[j] = (uint32_t)left;
        k->hi[j] = (int32_t)(room - 1u);
        k->lo[j] = (int32_t)(0u - room);
        k->right[j] = (uint32_t)right;
        k->mask[j] = (int32_t)mask;
        k->half[j] = (int32_t)(mask >> 1);
        k->bias_floor[j] = 0x80000000u >> right;
    }
}

static inline fp_opt_out16_t fp_opt_out16(int32_t output_offset, int32_t act_min, int32_t act_max)
{
    fp_opt_out16_t o;
    int32_t j;
    for (j = 0; j < FP_OPT_LANES; ++j) {
        o.offset[j] = output_offset;
        o.act_min[j] = act_min;
        o.act_max[j] = act_max;
    }
    return o;
}

/* *v = the 16 int8 at p as int32 lanes (through int16: gcc widens int8 to
 * int32 vectors directly only element by element). */
static inline void fp_opt_load16(fp_opt_v32 *v, const int8_t *p)
{
    const fp_opt_v16 w = __builtin_convertvector(*(const fp_opt_v8u *)p, fp_opt_v16);
    *v = __builtin_convertvector(w, fp_opt_v32);
}

/* Lane-wise select: m is all ones (take a) or all zeros (take b) per lane.
 * (Macros, not functions: vectors passed by value change the ABI per ISA.) */
#define FP_OPT_SEL(m, a, b) (((m) & (a)) | (~(m) & (b)))

/* *r = *a + *b saturated to int32 per lane (fp_opt_add_sat_s32). */
static inline void fp_opt_add_sat_v(fp_opt_v32 *r, const fp_opt_v32 *a, const fp_opt_v32 *b)
{
    const fp_opt_v32 s = (fp_opt_v32)((fp_opt_vu32)*a + (fp_opt_vu32)*b);
    const fp_opt_v32 sat = (*a >> 31) ^ INT32_MAX; /* INT32_MIN for a < 0, else INT32_MAX */
    const fp_opt_v32 ovf = ((*a ^ s) & (*b ^ s)) >> 31;
    *r = FP_OPT_SEL(ovf, sat, s);
}

/* fp_opt_rq_double of 16 sums, each lane with its channel's constants;
 * n <= 16 int8 results stored to out. */
static inline void fp_opt_rq16_store(const fp_opt_v32 *acc, const fp_opt_rq16_t *k, const fp_opt_out16_t *o,
                                     int8_t *out, int32_t n)
{
    const fp_opt_v32 zero = {0};
    const fp_opt_v32 int_max = zero + INT32_MAX;
    const fp_opt_v32 int_min = ~int_max;
    const fp_opt_vu64 low32 = (fp_opt_vu64)zero + 0xFFFFFFFFu;
    fp_opt_v32 x0;
    fp_opt_v32 xs;
    fp_opt_v32 x;
    fp_opt_v64 xe;
    fp_opt_v64 xo;
    fp_opt_v64 me;
    fp_opt_v64 mo;
    fp_opt_vu64 te;
    fp_opt_vu64 to;
    fp_opt_v32 h;
    fp_opt_v32 r;
    fp_opt_v32 s;
    fp_opt_v8 b;
    fp_opt_add_sat_v(&x0, acc, &k->bias);
    xs = (fp_opt_v32)((fp_opt_vu32)x0 << k->left);
    x = FP_OPT_SEL(x0 < k->lo, int_min, xs);
    x = FP_OPT_SEL(x0 > k->hi, int_max, x);
    /* even lanes sign-extended in place, odd lanes shifted down: two int64 products */
    xe = (fp_opt_v64)((fp_opt_vu64)x << 32) >> 32;
    xo = (fp_opt_v64)x >> 32;
    me = (fp_opt_v64)((fp_opt_vu64)k->mult << 32) >> 32;
    mo = (fp_opt_v64)k->mult >> 32;
    te = (fp_opt_vu64)(xe * me + ((int64_t)1 << 30));
    to = (fp_opt_vu64)(xo * mo + ((int64_t)1 << 30));
    /* bits 31..62 of each sum: the even one into the low half, the odd one into the high half */
    h = (fp_opt_v32)(((te >> 31) & low32) | ((to << 1) & ~low32));
    h = FP_OPT_SEL((x == int_min) & (k->mult == int_min), int_max, h);
    /* floor(h / 2^right) + (remainder > threshold); a true compare is -1, h >> 31 is -1 for h < 0 */
    r = (fp_opt_v32)((((fp_opt_vu32)h ^ 0x80000000u) >> k->right) - k->bias_floor);
    r -= (h & k->mask) > (k->half - (h >> 31));
    fp_opt_add_sat_v(&s, &r, &o->offset);
    s = FP_OPT_SEL(s > o->act_min, s, o->act_min);
    s = FP_OPT_SEL(s < o->act_max, s, o->act_max);
    b = __builtin_convertvector(s, fp_opt_v8);
    memcpy(out, &b, (size_t)n);
}

#endif /* FP_OPT_HOST_SIMD */

#endif /* FP_OPT_HOST_H */
