/*
 * fp_opt_mac.h - dot products of the portable optimized (_opt) multiply-
 * accumulate kernels (runtime/src/kernels_opt/).
 *
 * The reference sums exact in int64 (fp_mac_common.h). The _opt kernels
 * accumulate in int32 only when a bound proves the int32 sum exact, so the
 * result is the reference's bit for bit, and call the reference otherwise:
 *   n terms, each |term| <= reach_x * reach_w, exact in int32 iff
 *   n * reach_x * reach_w <= INT32_MAX (checked once per call in int64).
 * The hot loops are plain int32 multiply-adds over contiguous int8 runs, the
 * shape gcc/clang vectorise on the host (-O3) and that needs no 64-bit
 * arithmetic on RV32 / Cortex-M3. Several output channels share one pass
 * over the input so each input byte is loaded (and offset) once per block.
 */
#ifndef FP_OPT_MAC_H
#define FP_OPT_MAC_H

#include "fp_types.h"
#include "fp_mac_common.h"

/* Host CPUs with wide SIMD registers (the simulator and the host board:
 * x86-64, AArch64): there, loops over many output channels of one input
 * value pay, so conv2d s8 _opt multiplies each window byte into all output
 * channels at once from the filter transposed onto the stack. MCU cores (RV32,
 * Cortex-M, Helium included) keep dot products in registers instead.
 * -DFP_OPT_NO_HOST_SIMD builds the MCU paths on the host (the tests do). */
#if (defined(__SSE2__) || (defined(__ARM_NEON) && defined(__aarch64__))) && defined(__GNUC__) \
    && !defined(FP_OPT_NO_HOST_SIMD)
#define FP_OPT_HOST_SIMD 1
#else
#define FP_OPT_HOST_SIMD 0
#endif

#if FP_OPT_HOST_SIMD
/* Host paths write their lanes as GNU C vectors (gcc and clang, which every
 * FP_OPT_HOST_SIMD build uses): 16 int32 lanes, one AVX-512 register (two
 * AVX2, four SSE2 / NEON ones), so the accumulators stay in registers
 * whatever the compiler's auto-vectoriser would do with the loop nest. */
#define FP_OPT_LANES 16
typedef int32_t fp_opt_v32 __attribute__((vector_size(64)));
#endif

/* Output channels per block of the conv / fully connected loops. */
#define FP_OPT_OC_BLOCK 4

/* 1 when n terms of magnitude <= reach_x * reach_w sum exactly in int32. */
static inline int fp_opt_sum_fits_s32(int64_t n, int64_t reach_x, int64_t reach_w)
{
    return n >= 0 && reach_x >= 0 && reach_w >= 0
        && (n == 0 || reach_x == 0 || reach_w == 0
            || n <= (int64_t)INT32_MAX / reach_x / reach_w);
}

/* sum_i (x[i] + xo) * w[i] for xo in [-127, 128]: every factor fits int16
 * and every product int16 x int16 (the caller proved the sum exact). */
static inline int32_t fp_opt_dot16_s8(const int8_t *x, const int8_t *w, int32_t n, int16_t xo)
{
    int32_t a = 0;
    int32_t i;
    for (i = 0; i < n; ++i) {
        const int16_t xv = (int16_t)(x[i] + xo);
        a += xv * (int16_t)w[i];
    }
    return a;
}

/* acc[j] = sum_i x16[i] * w[j*w_stride + i], j < 4, for int16 x16 whose
 * products with int8 fit int16 x int16 (the caller proved the sums exact):
 * one reduction per loop, the multiply-add-pairs shape. */
static inline void fp_opt_dot4_s16x8(const int16_t *x16, const int8_t *w, int32_t w_stride, int32_t n,
                                     int32_t acc[4])
{
    int32_t j;
#if !FP_OPT_HOST_SIMD
    /* scalar cores: one pass, each x16 load feeds four multiply-adds */
    if (n >= 0) {
        const int8_t *w1 = w + w_stride;
        const int8_t *w2 = w1 + w_stride;
        const int8_t *w3 = w2 + w_stride;
        int32_t a0 = 0;
        int32_t a1 = 0;
        int32_t a2 = 0;
        int32_t a3 = 0;
        int32_t i;
        for (i = 0; i < n; ++i) {
            const int32_t xv = x16[i];
            a0 += xv * w[i];
            a1 += xv * w1[i];
            a2 += xv * w2[i];
            a3 += xv * w3[i];
        }
        acc[0] = a0;
        acc[1] = a1;
        acc[2] = a2;
        acc[3] = a3;
        return;
    }
#endif
    for (j = 0; j < 4; ++j) {
        const int8_t *wj = w + j * w_stride;
        int32_t a = 0;
        int32_t i;
        for (i = 0; i < n; ++i) {
            a += x16[i] * (int16_t)wj[i];
        }
        acc[j] = a;
    }
}

/* acc[j] += sum_i (x[i] + xo) * (w[j*w_stride + i] + wo), j < 4, int32 (the
 * caller proved the sums exact). When both offset values fit int16 the terms
 * are int16 x int16 products (the multiply-add-pairs shape of SIMD ISAs). */
static inline void fp_opt_dot4_s8(const int8_t *x, const int8_t *w, int32_t w_stride, int32_t n,
                                  int32_t xo, int32_t wo, int32_t acc[4])
{
    const int8_t *w0 = w;
    const int8_t *w1 = w + w_stride;
    const int8_t *w2 = w1 + w_stride;
    const int8_t *w3 = w2 + w_stride;
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t a2 = 0;
    int32_t a3 = 0;
    int32_t i;
    if (FP_OPT_HOST_SIMD && wo == 0 && xo >= -INT8_MAX && xo <= -INT8_MIN) {
        /* one reduction per loop: the shape compilers turn into multiply-add-pairs
         * (pmaddwd / vpdpwssd); x is re-read from cache, not from memory */
        a0 = fp_opt_dot16_s8(x, w0, n, (int16_t)xo);
        a1 = fp_opt_dot16_s8(x, w1, n, (int16_t)xo);
        a2 = fp_opt_dot16_s8(x, w2, n, (int16_t)xo);
        a3 = fp_opt_dot16_s8(x, w3, n, (int16_t)xo);
        n = 0;
    }
    for (i = 0; i < n; ++i) {
        const int32_t xv = (int32_t)x[i] + xo;
        a0 += xv * ((int32_t)w0[i] + wo);
        a1 += xv * ((int32_t)w1[i] + wo);
        a2 += xv * ((int32_t)w2[i] + wo);
        a3 += xv * ((int32_t)w3[i] + wo);
    }
    acc[0] += a0;
    acc[1] += a1;
    acc[2] += a2;
    acc[3] += a3;
}

/* sum_i (x[i] + xo) * (w[i] + wo), int32 (the caller proved it exact). */
static inline int32_t fp_opt_dot1_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t xo,
                                     int32_t wo)
{
    int32_t a = 0;
    int32_t i;
    for (i = 0; i < n; ++i) {
        a += ((int32_t)x[i] + xo) * ((int32_t)w[i] + wo);
    }
    return a;
}

/* int64 v saturated to int32, as a select (no branch). */
static inline int32_t fp_opt_sat_s32(int64_t v)
{
    const int64_t hi = v < INT32_MAX ? v : INT32_MAX;
    return (int32_t)(hi > INT32_MIN ? hi : INT32_MIN);
}

/* a + b saturated to int32, in int32 arithmetic (the sum wraps as uint32;
 * it overflowed iff its sign differs from both operands'). */
static inline int32_t fp_opt_add_sat_s32(int32_t a, int32_t b)
{
    const int32_t s = (int32_t)((uint32_t)a + (uint32_t)b);
    const int32_t sat = a < 0 ? INT32_MIN : INT32_MAX;
    return ((a ^ s) & (b ^ s)) < 0 ? sat : s;
}

/* fp_mac_out_acc32 of an int32 sum in the DOUBLE mode, computed as
 * fp_requant32 does (fp_srdhm then fp_rdbpot, docs/rounding.md) but in int32
 * lanes with selects, one widening 32x32 multiply the only 64-bit step, so
 * a loop of it vectorises:
 *   - x * 2^left saturated: compared against INT32_MAX / 2^left and
 *     INT32_MIN / 2^left, then shifted as uint32;
 *   - fp_srdhm's nudge and truncating division by 2^31 are one floor shift,
 *     floor((a*b + 2^30) / 2^31), for either sign of a*b (for a*b < 0:
 *     ceil((ab + 1 - 2^30) / 2^31) = floor((ab + 2^30) / 2^31)); the low 32
 *     bits of that floor are bits 31..62 of the sum as uint64; its one
 *     quotient outside int32 (a = b = INT32_MIN) is the saturation select;
 *   - fp_rdbpot's floor(x / 2^e), e <= 31, is taken on x + 2^31 as uint32;
 *     e = 0 falls out (mask 0, no rounding increment).
 * tests/runtime/test_kernel_variants.py and the fuzz driver check it equal
 * to the reference on random and extreme parameters. */
static inline int32_t fp_opt_rq_double(int32_t acc, int32_t bias, int32_t multiplier, int32_t shift,
                                       uint8_t bits, int32_t output_offset, int32_t act_min, int32_t act_max)
{
    /* two-way selects only (each a min or max), so compilers if-convert them */
    const int32_t s_hi = shift < 64 ? shift : 64;
    const int32_t s = s_hi > -64 ? s_hi : -64;
    const int32_t pos = s > 0 ? s : 0;
    const int32_t neg = s < 0 ? -s : 0;
    const int32_t left = pos < 31 ? pos : 31;
    const int32_t right = neg < 31 ? neg : 31;
    const int32_t x0 = fp_opt_add_sat_s32(acc, bias);
    const uint32_t room = (uint32_t)1 << (31 - left); /* |x0| below it shifts without overflow */
    const int32_t hi = (int32_t)(room - 1u);
    const int32_t lo = (int32_t)(0u - room);
    const int32_t xs = (int32_t)((uint32_t)x0 << left);
    const int32_t x = x0 > hi ? INT32_MAX : (x0 < lo ? INT32_MIN : xs);
    const int32_t m = fp_multiplier_q31(multiplier, bits);
    const int64_t ab = (int64_t)x * m;
    const int32_t h0 = (int32_t)(uint32_t)((uint64_t)(ab + ((int64_t)1 << 30)) >> 31);
    const int32_t h = (x == INT32_MIN && m == INT32_MIN) ? INT32_MAX : h0;
    const uint32_t mask = ((uint32_t)1 << right) - 1u; /* right <= 31 */
    const int32_t remainder = (int32_t)((uint32_t)h & mask);
    const int32_t threshold = (int32_t)(mask >> 1) + (h < 0 ? 1 : 0);
    const int32_t floor_div = (int32_t)((((uint32_t)h ^ 0x80000000u) >> right) - (0x80000000u >> right));
    const int32_t r = floor_div + (remainder > threshold ? 1 : 0);
    const int32_t o = fp_opt_add_sat_s32(r, output_offset);
    const int32_t o_lo = o > act_min ? o : act_min;
    return o_lo < act_max ? o_lo : act_max;
}

/* out[j] = fp_mac_out_acc32(acc[j], bias, oc0 + j, rq, ...) for j < n: the
 * same helpers in the same order, with the mode test hoisted out of the loop
 * and the DOUBLE mode (TFLite's) written branch-free per element so the loop
 * vectorises. */
static inline void fp_opt_out_block_s8(const int32_t *acc, int32_t n, int32_t oc0, const int32_t *bias,
                                       const fp_requant_t *rq, int32_t output_offset, int32_t act_min,
                                       int32_t act_max, int8_t *out)
{
    int32_t j;
    if (!fp_rq_plain_double(rq->mode)) {
        for (j = 0; j < n; ++j) {
            out[j] = (int8_t)fp_mac_out_acc32(acc[j], bias, oc0 + j, rq, output_offset, act_min, act_max);
        }
        return;
    }
    {
        const uint8_t bits = (uint8_t)(rq->mode.multiplier_bits < 2 ? 2
                                       : (rq->mode.multiplier_bits > 32 ? 32 : rq->mode.multiplier_bits));
        /* per-tensor: the one entry for every channel (stride 0), else entry oc */
        const int32_t *mult = rq->n == 1 ? rq->multiplier : rq->multiplier + oc0;
        const int32_t *shifts = rq->n == 1 ? rq->shift : rq->shift + oc0;
        const int32_t *bs = bias != NULL ? bias + oc0 : NULL;
        /* four loops without a condition inside (per-tensor or per-channel scale, bias or none) */
        if (rq->n == 1 && bs != NULL) {
            for (j = 0; j < n; ++j) {
                out[j] = (int8_t)fp_opt_rq_double(acc[j], bs[j], mult[0], shifts[0], bits, output_offset,
                                                  act_min, act_max);
            }
        } else if (rq->n == 1) {
            for (j = 0; j < n; ++j) {
                out[j] = (int8_t)fp_opt_rq_double(acc[j], 0, mult[0], shifts[0], bits, output_offset,
                                                  act_min, act_max);
            }
        } else if (bs != NULL) {
            for (j = 0; j < n; ++j) {
                out[j] = (int8_t)fp_opt_rq_double(acc[j], bs[j], mult[j], shifts[j], bits, output_offset,
                                                  act_min, act_max);
            }
        } else {
            for (j = 0; j < n; ++j) {
                out[j] = (int8_t)fp_opt_rq_double(acc[j], 0, mult[j], shifts[j], bits, output_offset,
                                                  act_min, act_max);
            }
        }
    }
}

#endif /* FP_OPT_MAC_H */
