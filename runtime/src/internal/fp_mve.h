/*
 * fp_mve.h - building blocks of the Helium (M-profile Vector Extension)
 * kernel variants fp_*_mve (Cortex-M55): the per-call channel table, the
 * vectorised epilogue and the int8 dot products.
 *
 * Exactness argument shared by every _mve kernel (the reference sums
 * (x + input_offset) * w in int64 and saturates sum + bias to int32):
 *   - the fast paths run only when input_offset is in [-127, 128] and an
 *     output has K terms with K * 255 * 128 <= INT32_MAX (fp_dsp_terms_ok):
 *     then the true sum fits an int32. It is computed as
 *     sum(x * w) + input_offset * sum(w): VMLADAVA.S8 sums int8 x int8
 *     products (each at most 2^14, K of them below 2^31), the weight sums
 *     (per channel, computed once per call) times the offset are added
 *     modulo 2^32, and since the true sum fits, the wrapped result is it.
 *   - padded taps: the reference skips them. The im2col column holds
 *     -input_offset there (fits an int8 for offsets in [-127, 128]), whose
 *     term -input_offset * w cancels the folded input_offset * w exactly.
 *   - VQADD(sum, bias) is fp_sat_s32(sum + bias); VQADD(r, output_offset)
 *     is fp_add_sat_s32.
 *   - DOUBLE rounding, any legal shift: VQSHL by max(shift, 0) is
 *     fp_sat_s32(acc * 2^shift); VQRDMULH(x, m) with a Q31 multiplier
 *     m in [0, 2^31) is floor((x * m + 2^30) / 2^31), which equals
 *     fp_srdhm (see fp_dsp.h); the rounding divide by 2^e (half away from
 *     zero, fp_rdbpot) is VRSHL(VQADD(h, h < 0 && e > 0 ? -1 : 0), -e):
 *     VRSHL rounds half up, and subtracting 1 from a negative h first turns
 *     that into half away from zero (for h = INT32_MIN the saturated add
 *     keeps INT32_MIN, whose remainder is 0 either way).
 *   - SINGLE and SHIFT_ONLY modes run fp_requant32 per output.
 * Everything else (wider input offsets, huge windows, no scratch) runs the
 * reference kernel.
 */
#ifndef FP_MVE_H
#define FP_MVE_H

#include <string.h>

#include "fp_types.h"
#include "fp_requant.h"
#include "fp_dsp.h"

/* Channel table in scratch, on every target (scratch sizes are computed
 * the same way everywhere): 5 int32 arrays (FP_MVE_T_*) of C_out entries
 * rounded up to 4 (the vector epilogue reads whole vectors; the padding
 * lanes are zero and never stored). Callers add 15 bytes to align to 16. */
#define FP_MVE_T_SUMOFF 0 /* input_offset * sum of the channel's weights (mod 2^32) */
#define FP_MVE_T_BIAS 1
#define FP_MVE_T_MULT 2  /* Q31 multiplier */
#define FP_MVE_T_LEFT 3  /* max(shift, 0) */
#define FP_MVE_T_RIGHT 4 /* min(shift, 0): the VRSHL amount */
#define FP_MVE_TABLES 5

static inline int32_t fp_mve_round4(int32_t n)
{
    return (n + 3) & ~3;
}

static inline size_t fp_mve_table_bytes(int64_t c_out)
{
    return (size_t)(FP_MVE_TABLES * 4 * ((c_out + 3) & ~(int64_t)3));
}

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define FP_MVE_AVAILABLE 1
#include <arm_mve.h>

static inline void *fp_mve_align16(void *p)
{
    return (void *)(((uintptr_t)p + 15u) & ~(uintptr_t)15u);
}

/* Everything of the epilogue fixed for one call. */
typedef struct {
    int32_t *t;                /* FP_MVE_TABLES arrays of s entries */
    int32_t n;                 /* output channels */
    int32_t s;                 /* n rounded up to 4: the arrays' stride */
    int32_t fast;              /* DOUBLE rounding: the vector epilogue */
    const fp_requant_t *rq;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
} fp_mve_out_t;

/* Fills the channel table at t (n channels). The weight sums are left to
 * the caller (fp_mve_row_sums); here the sum-offset row is zeroed. */
static inline fp_mve_out_t fp_mve_out_init(int32_t *t, int32_t n, const int32_t *bias,
                                           const fp_requant_t *rq, int32_t output_offset,
                                           int32_t act_min, int32_t act_max)
{
    fp_mve_out_t o;
    int32_t c;
    const int32_t q31_shift = 32 - (int32_t)rq->mode.multiplier_bits; /* legal: bits in [2, 32] */
    o.t = t;
    o.n = n;
    o.s = fp_mve_round4(n);
    o.fast = rq->mode.rounding == FP_ROUND_DOUBLE;
    o.rq = rq;
    o.output_offset = output_offset;
    o.act_min = act_min;
    o.act_max = act_max;
    memset(t, 0, fp_mve_table_bytes(n));
    for (c = 0; c < n; ++c) {
        const int32_t i = rq->n == 1 ? 0 : c;
        const int32_t s = rq->shift[i];
        t[FP_MVE_T_BIAS * o.s + c] = bias != NULL ? bias[c] : 0;
        t[FP_MVE_T_MULT * o.s + c] = (int32_t)((uint32_t)rq->multiplier[i] << q31_shift);
        t[FP_MVE_T_LEFT * o.s + c] = s > 0 ? s : 0;
        t[FP_MVE_T_RIGHT * o.s + c] = s < 0 ? s : 0;
    }
    return o;
}

/* sum(w) over k int8 (VADDVA.S8; the k % 16 tail predicated). */
static inline int32_t fp_mve_sum1(const int8_t *w, int32_t k)
{
    int32_t a = 0;
    int32_t n = k >> 4;
    while (n-- > 0) {
        a = vaddvaq_s8(a, vldrbq_s8(w));
        w += 16;
    }
    if ((k & 15) != 0) {
        a = vaddvaq_s8(a, vldrbq_z_s8(w, vctp8q((uint32_t)(k & 15))));
    }
    return a;
}

/* sum(x * w) over k int8 (VMLADAVA.S8; the k % 16 tail predicated). */
static inline int32_t fp_mve_dot1(const int8_t *x, const int8_t *w, int32_t k)
{
    int32_t a = 0;
    int32_t n = k >> 4;
    while (n-- > 0) {
        a = vmladavaq_s8(a, vldrbq_s8(x), vldrbq_s8(w));
        x += 16;
        w += 16;
    }
    if ((k & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(k & 15));
        a = vmladavaq_s8(a, vldrbq_z_s8(x, p), vldrbq_z_s8(w, p));
    }
    return a;
}

/* Four weight rows w, w + stride, ... times one int8 vector x of k terms:
 * 16 terms of 4 rows (64 MACs) per 5 loads and 4 VMLADAVA.S8 (10
 * instructions with the loop's LE); the k % 16 tail predicated. With sums
 * != NULL the rows' plain sums are accumulated too (VADDVA.S8, 4 more). */
__attribute__((always_inline)) static inline void fp_mve_dot4(const int8_t *x, const int8_t *w,
                                                              int32_t stride, int32_t k,
                                                              int32_t *acc, int32_t *sums)
{
    const int8_t *w1 = w + stride;
    const int8_t *w2 = w1 + stride;
    const int8_t *w3 = w2 + stride;
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t a2 = 0;
    int32_t a3 = 0;
    int32_t n = k >> 4;
    if (sums == NULL) {
        while (n-- > 0) {
            const int8x16_t xv = vldrbq_s8(x);
            a0 = vmladavaq_s8(a0, xv, vldrbq_s8(w));
            a1 = vmladavaq_s8(a1, xv, vldrbq_s8(w1));
            a2 = vmladavaq_s8(a2, xv, vldrbq_s8(w2));
            a3 = vmladavaq_s8(a3, xv, vldrbq_s8(w3));
            x += 16;
            w += 16;
            w1 += 16;
            w2 += 16;
            w3 += 16;
        }
    } else {
        int32_t s0 = 0;
        int32_t s1 = 0;
        int32_t s2 = 0;
        int32_t s3 = 0;
        while (n-- > 0) {
            const int8x16_t xv = vldrbq_s8(x);
            int8x16_t wv = vldrbq_s8(w);
            a0 = vmladavaq_s8(a0, xv, wv);
            s0 = vaddvaq_s8(s0, wv);
            wv = vldrbq_s8(w1);
            a1 = vmladavaq_s8(a1, xv, wv);
            s1 = vaddvaq_s8(s1, wv);
            wv = vldrbq_s8(w2);
            a2 = vmladavaq_s8(a2, xv, wv);
            s2 = vaddvaq_s8(s2, wv);
            wv = vldrbq_s8(w3);
            a3 = vmladavaq_s8(a3, xv, wv);
            s3 = vaddvaq_s8(s3, wv);
            x += 16;
            w += 16;
            w1 += 16;
            w2 += 16;
            w3 += 16;
        }
        if ((k & 15) != 0) {
            const mve_pred16_t p = vctp8q((uint32_t)(k & 15));
            s0 = vaddvaq_s8(s0, vldrbq_z_s8(w, p));
            s1 = vaddvaq_s8(s1, vldrbq_z_s8(w1, p));
            s2 = vaddvaq_s8(s2, vldrbq_z_s8(w2, p));
            s3 = vaddvaq_s8(s3, vldrbq_z_s8(w3, p));
        }
        sums[0] = s0;
        sums[1] = s1;
        sums[2] = s2;
        sums[3] = s3;
    }
    if ((k & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(k & 15));
        const int8x16_t xv = vldrbq_z_s8(x, p);
        a0 = vmladavaq_s8(a0, xv, vldrbq_z_s8(w, p));
        a1 = vmladavaq_s8(a1, xv, vldrbq_z_s8(w1, p));
        a2 = vmladavaq_s8(a2, xv, vldrbq_z_s8(w2, p));
        a3 = vmladavaq_s8(a3, xv, vldrbq_z_s8(w3, p));
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Sums of x * w for `rows` weight rows of k terms (row r at w + r * k)
 * into acc[0..rows); with sums != NULL also each row's plain sum. */
static void __attribute__((noinline, unused)) fp_mve_rows(const int8_t *x, const int8_t *w,
                                                          int32_t k, int32_t rows, int32_t *acc,
                                                          int32_t *sums)
{
    int32_t r = 0;
    if (sums == NULL) {
        for (; r + 4 <= rows; r += 4) {
            fp_mve_dot4(x, w + r * k, k, k, acc + r, NULL);
        }
    } else {
        for (; r + 4 <= rows; r += 4) {
            fp_mve_dot4(x, w + r * k, k, k, acc + r, sums + r);
        }
    }
    for (; r < rows; ++r) {
        acc[r] = fp_mve_dot1(x, w + r * k, k);
        if (sums != NULL) {
            sums[r] = fp_mve_sum1(w + r * k, k);
        }
    }
}

/* t[SUMOFF][c] *= input_offset for every channel (modulo 2^32; exact
 * whenever the fast path's bound holds). */
static inline void fp_mve_scale_sums(const fp_mve_out_t *o, int32_t input_offset)
{
    int32_t *t = o->t + FP_MVE_T_SUMOFF * o->s;
    int32_t c;
    for (c = 0; c < o->s; c += 4) {
        vstrwq_s32(t + c, vmulq_n_s32(vldrwq_s32(t + c), input_offset));
    }
}

/* Rows [0, n) of k weights: t[SUMOFF][c] = input_offset * sum(row c). */
static inline void fp_mve_row_sums(const fp_mve_out_t *o, const int8_t *w, int32_t k,
                                   int32_t input_offset)
{
    int32_t c;
    if (input_offset == 0) {
        return;
    }
    for (c = 0; c < o->n; ++c) {
        o->t[FP_MVE_T_SUMOFF * o->s + c] = fp_mve_sum1(w + (size_t)c * (size_t)k, k);
    }
    fp_mve_scale_sums(o, input_offset);
}

/* DOUBLE-mode epilogue of 4 channels c.. from their exact sums (the
 * folded offset term included): int32 lanes ready for a byte store. */
__attribute__((always_inline)) static inline int32x4_t fp_mve_rq4(const fp_mve_out_t *o,
                                                                  int32x4_t sum, int32_t c)
{
    const int32_t *t = o->t + c;
    const int32_t n = o->s;
    int32x4_t acc = vqaddq_s32(sum, vldrwq_s32(t + FP_MVE_T_BIAS * n));
    int32x4_t right;
    acc = vqshlq_s32(acc, vldrwq_s32(t + FP_MVE_T_LEFT * n));
    acc = vqrdmulhq_s32(acc, vldrwq_s32(t + FP_MVE_T_MULT * n));
    right = vldrwq_s32(t + FP_MVE_T_RIGHT * n);
    acc = vqaddq_s32(acc, vshrq_n_s32(vandq_s32(acc, right), 31));
    acc = vrshlq_s32(acc, right);
    acc = vqaddq_n_s32(acc, o->output_offset);
    acc = vmaxq_s32(acc, vdupq_n_s32(o->act_min));
    return vminq_s32(acc, vdupq_n_s32(o->act_max));
}

/* Any mode, one channel from its exact sum (the scalar path of SINGLE /
 * SHIFT_ONLY). */
static inline int32_t fp_mve_rq1(const fp_mve_out_t *o, int32_t sum, int32_t c)
{
    const int32_t i = o->rq->n == 1 ? 0 : c;
    const int32_t acc = fp_sat_s32((int64_t)sum + o->t[FP_MVE_T_BIAS * o->s + c]);
    int32_t r = fp_requant32(acc, o->rq->multiplier[i], o->rq->shift[i], o->rq->mode);
    r = fp_sat_s32((int64_t)r + o->output_offset);
    return fp_clamp_s32(r, o->act_min, o->act_max);
}

/* Outputs of channels [0, n) from their sums of x * w, acc[0..n) (the
 * folded offset term still to add), into out[0..n). */
static inline void fp_mve_store(const fp_mve_out_t *o, const int32_t *acc, int8_t *out)
{
    const int32_t *sumoff = o->t + FP_MVE_T_SUMOFF * o->s;
    int32_t c;
    if (o->fast) {
        for (c = 0; c < o->n; c += 4) {
            const mve_pred16_t p = vctp32q((uint32_t)(o->n - c));
            const int32x4_t sum = vaddq_s32(vldrwq_z_s32(acc + c, p), vldrwq_s32(sumoff + c));
            vstrbq_p_s32(out + c, fp_mve_rq4(o, sum, c), p);
        }
        return;
    }
    for (c = 0; c < o->n; ++c) {
        out[c] = (int8_t)fp_mve_rq1(o, (int32_t)((uint32_t)acc[c] + (uint32_t)sumoff[c]), c);
    }
}

/* n int8 from src to dst, and n copies of v at dst (im2col). */
static inline void fp_mve_copy(int8_t *dst, const int8_t *src, int32_t n)
{
    int32_t j = n >> 4;
    while (j-- > 0) {
        vstrbq_s8(dst, vldrbq_s8(src));
        dst += 16;
        src += 16;
    }
    if ((n & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(n & 15));
        vstrbq_p_s8(dst, vldrbq_z_s8(src, p), p);
    }
}

static inline void fp_mve_fill(int8_t *dst, int8_t v, int32_t n)
{
    const int8x16_t vv = vdupq_n_s8(v);
    int32_t j;
    for (j = 0; j < n; j += 16) {
        vstrbq_p_s8(dst + j, vv, vctp8q((uint32_t)(n - j)));
    }
}

#endif /* __ARM_FEATURE_MVE */

#endif /* FP_MVE_H */
