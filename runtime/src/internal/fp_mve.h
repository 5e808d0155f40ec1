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
 * reference's exact int64 sums, inline in each kernel (run_exact).
 */
#ifndef FP_MVE_H
#define FP_MVE_H

#include <string.h>

#include "fp_types.h"
#include "fp_requant.h"
#include "fp_dsp.h"

/* Channel table in scratch, on every target (scratch sizes are computed
 * the same way everywhere): per group of 4 channels (C_out rounded up to 4;
 * padding lanes are zero and never stored) 5 vectors of 4 int32, the fields
 * FP_MVE_T_*, so that the epilogue of a group reads them from one pointer.
 * Callers add 15 bytes to align the table to 16. */
#define FP_MVE_T_SUMOFF 0 /* input_offset * sum of the channel's weights (mod 2^32) */
#define FP_MVE_T_BIAS 1
#define FP_MVE_T_LEFT 2   /* max(shift, 0) */
#define FP_MVE_T_MULT 3   /* Q31 multiplier */
#define FP_MVE_T_RIGHT 4  /* min(shift, 0): the VRSHL amount */
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

/* The 4-row dot product loop is inline assembly when optimising (gcc 12
 * recomputes and spills its pointers around the loop); -O0 and
 * -DFP_MVE_NO_ASM builds get the same loop in C (intrinsics). */
#if defined(__OPTIMIZE__) && !defined(FP_MVE_NO_ASM)
#define FP_MVE_ASM 1
#else
#define FP_MVE_ASM 0
#endif

static inline void *fp_mve_align16(void *p)
{
    return (void *)(((uintptr_t)p + 15u) & ~(uintptr_t)15u);
}

/* Everything of the epilogue fixed for one call. */
typedef struct {
    int32_t *t;                /* the channel table */
    int32_t n;                 /* output channels */
    int32_t fast;              /* DOUBLE rounding: the vector epilogue */
    const fp_requant_t *rq;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
} fp_mve_out_t;

/* The table's group of channel c (c a multiple of 4), and one entry. */
static inline int32_t *fp_mve_group(const fp_mve_out_t *o, int32_t c)
{
    return o->t + FP_MVE_TABLES * c;
}

static inline int32_t *fp_mve_entry(const fp_mve_out_t *o, int32_t field, int32_t c)
{
    return o->t + FP_MVE_TABLES * (c & ~3) + 4 * field + (c & 3);
}

/* Fills the channel table at t (n channels); the offset terms start at 0
 * (fp_mve_row_sums / the kernels fill them). */
static inline fp_mve_out_t fp_mve_out_init(int32_t *t, int32_t n, const int32_t *bias,
                                           const fp_requant_t *rq, int32_t output_offset,
                                           int32_t act_min, int32_t act_max)
{
    fp_mve_out_t o;
    int32_t c;
    const int32_t q31_shift = 32 - (int32_t)rq->mode.multiplier_bits; /* legal: bits in [2, 32] */
    o.t = t;
    o.n = n;
    o.fast = fp_rq_plain_double(rq->mode);
    o.rq = rq;
    o.output_offset = output_offset;
    o.act_min = act_min;
    o.act_max = act_max;
    memset(t, 0, fp_mve_table_bytes(n));
    for (c = 0; c < n; ++c) {
        const int32_t i = rq->n == 1 ? 0 : c;
        const int32_t s = rq->shift[i];
        *fp_mve_entry(&o, FP_MVE_T_BIAS, c) = bias != NULL ? bias[c] : 0;
        *fp_mve_entry(&o, FP_MVE_T_MULT, c) = (int32_t)((uint32_t)rq->multiplier[i] << q31_shift);
        *fp_mve_entry(&o, FP_MVE_T_LEFT, c) = s > 0 ? s : 0;
        *fp_mve_entry(&o, FP_MVE_T_RIGHT, c) = s < 0 ? s : 0;
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

/* Four weight rows w, w + k, w + 2k, w + 3k times one int8 vector x of k
 * terms: 16 terms of 4 rows (64 MACs) per 5 loads and 4 VMLADAVA.S8; the
 * k % 16 tail predicated. Returns the 4 sums as one vector. */
static inline int32x4_t fp_mve_dot4(const int8_t *x, const int8_t *w, int32_t k)
{
    const int8_t *w1 = w + k;
    const int8_t *w2 = w1 + k;
    const int8_t *w3 = w2 + k;
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t a2 = 0;
    int32_t a3 = 0;
    int32_t n = k >> 4;
    int32x4_t v;
#if FP_MVE_ASM
    if (n > 0) {
        /* "Te": the even registers VMLADAV's accumulator needs */
        __asm__ volatile(
            "dls lr, %[n]\n\t"
            "1:\n\t"
            "vldrb.8 q0, [%[x]], #16\n\t"
            "vldrb.8 q1, [%[w0]], #16\n\t"
            "vmladava.s8 %[a0], q0, q1\n\t"
            "vldrb.8 q2, [%[w1]], #16\n\t"
            "vmladava.s8 %[a1], q0, q2\n\t"
            "vldrb.8 q3, [%[w2]], #16\n\t"
            "vmladava.s8 %[a2], q0, q3\n\t"
            "vldrb.8 q1, [%[w3]], #16\n\t"
            "vmladava.s8 %[a3], q0, q1\n\t"
            "le lr, 1b\n\t"
            : [a0] "+Te"(a0), [a1] "+Te"(a1), [a2] "+Te"(a2), [a3] "+Te"(a3), [x] "+r"(x),
              [w0] "+r"(w), [w1] "+r"(w1), [w2] "+r"(w2), [w3] "+r"(w3)
            : [n] "r"(n)
            : "lr", "memory", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7");
    }
#else
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
#endif
    if ((k & 15) != 0) {
        const mve_pred16_t p = vctp8q((uint32_t)(k & 15));
        const int8x16_t xv = vldrbq_z_s8(x, p);
        a0 = vmladavaq_s8(a0, xv, vldrbq_z_s8(w, p));
        a1 = vmladavaq_s8(a1, xv, vldrbq_z_s8(w1, p));
        a2 = vmladavaq_s8(a2, xv, vldrbq_z_s8(w2, p));
        a3 = vmladavaq_s8(a3, xv, vldrbq_z_s8(w3, p));
    }
    v = vdupq_n_s32(a0);
    v = vsetq_lane_s32(a1, v, 1);
    v = vsetq_lane_s32(a2, v, 2);
    return vsetq_lane_s32(a3, v, 3);
}

/* fp_mve_dot4 that also returns the rows' plain sums (VADDVA.S8, 4 more
 * instructions per 64 MACs): the fully connected kernel's first pass. */
static inline int32x4_t fp_mve_dot4_sums(const int8_t *x, const int8_t *w, int32_t k,
                                         int32x4_t *sums)
{
    const int8_t *w1 = w + k;
    const int8_t *w2 = w1 + k;
    const int8_t *w3 = w2 + k;
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t a2 = 0;
    int32_t a3 = 0;
    int32_t s0 = 0;
    int32_t s1 = 0;
    int32_t s2 = 0;
    int32_t s3 = 0;
    int32_t n = k >> 4;
    int32x4_t v;
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
        const int8x16_t xv = vldrbq_z_s8(x, p);
        int8x16_t wv = vldrbq_z_s8(w, p);
        a0 = vmladavaq_s8(a0, xv, wv);
        s0 = vaddvaq_s8(s0, wv);
        wv = vldrbq_z_s8(w1, p);
        a1 = vmladavaq_s8(a1, xv, wv);
        s1 = vaddvaq_s8(s1, wv);
        wv = vldrbq_z_s8(w2, p);
        a2 = vmladavaq_s8(a2, xv, wv);
        s2 = vaddvaq_s8(s2, wv);
        wv = vldrbq_z_s8(w3, p);
        a3 = vmladavaq_s8(a3, xv, wv);
        s3 = vaddvaq_s8(s3, wv);
    }
    v = vdupq_n_s32(s0);
    v = vsetq_lane_s32(s1, v, 1);
    v = vsetq_lane_s32(s2, v, 2);
    *sums = vsetq_lane_s32(s3, v, 3);
    v = vdupq_n_s32(a0);
    v = vsetq_lane_s32(a1, v, 1);
    v = vsetq_lane_s32(a2, v, 2);
    return vsetq_lane_s32(a3, v, 3);
}

/* Rows [0, n) of k weights: the table's offset terms = input_offset *
 * sum(row c), modulo 2^32 (exact whenever the fast path's bound holds). */
static inline void fp_mve_row_sums(const fp_mve_out_t *o, const int8_t *w, int32_t k,
                                   int32_t input_offset)
{
    int32_t c;
    if (input_offset == 0) {
        return;
    }
    for (c = 0; c < o->n; ++c) {
        *fp_mve_entry(o, FP_MVE_T_SUMOFF, c) = (int32_t)(
            (uint32_t)fp_mve_sum1(w + (size_t)c * (size_t)k, k) * (uint32_t)input_offset);
    }
}

/* DOUBLE-mode epilogue of the 4 channels of table group g from their exact
 * sums (offset terms included): int32 lanes ready for a byte store. */
__attribute__((always_inline)) static inline int32x4_t fp_mve_rq4_total(const fp_mve_out_t *o,
                                                                        const int32_t *g,
                                                                        int32x4_t sum)
{
    int32x4_t acc = vqaddq_s32(sum, vldrwq_s32(g + 4 * FP_MVE_T_BIAS));
    int32x4_t right;
    acc = vqshlq_s32(acc, vldrwq_s32(g + 4 * FP_MVE_T_LEFT));
    acc = vqrdmulhq_s32(acc, vldrwq_s32(g + 4 * FP_MVE_T_MULT));
    right = vldrwq_s32(g + 4 * FP_MVE_T_RIGHT);
    acc = vqaddq_s32(acc, vshrq_n_s32(vandq_s32(acc, right), 31));
    acc = vrshlq_s32(acc, right);
    acc = vqaddq_n_s32(acc, o->output_offset);
    acc = vmaxq_s32(acc, vdupq_n_s32(o->act_min));
    return vminq_s32(acc, vdupq_n_s32(o->act_max));
}

/* The same from sums of x * w (the table's offset terms still to add). */
__attribute__((always_inline)) static inline int32x4_t fp_mve_rq4(const fp_mve_out_t *o,
                                                                  const int32_t *g,
                                                                  int32x4_t sum)
{
    return fp_mve_rq4_total(o, g, vaddq_s32(sum, vldrwq_s32(g + 4 * FP_MVE_T_SUMOFF)));
}

/* Any mode, one channel from its exact sum (the scalar path of SINGLE /
 * SHIFT_ONLY). */
static inline int32_t fp_mve_rq1(const fp_mve_out_t *o, int32_t sum, int32_t c)
{
    const int32_t i = o->rq->n == 1 ? 0 : c;
    const int32_t acc = fp_sat_s32((int64_t)sum + *fp_mve_entry(o, FP_MVE_T_BIAS, c));
    int32_t r = fp_requant32(acc, o->rq->multiplier[i], o->rq->shift[i], o->rq->mode);
    r = fp_sat_s32((int64_t)r + o->output_offset);
    return fp_clamp_s32(r, o->act_min, o->act_max);
}

/* Outputs of channels c..c+m-1 (m in [1, 4], c a multiple of 4) from their
 * sums of x * w (lanes of sum), into out[c..c+m). */
static inline void fp_mve_store4(const fp_mve_out_t *o, int32x4_t sum, int32_t c, int32_t m,
                                 int8_t *out)
{
    const int32_t *g = fp_mve_group(o, c);
    int32_t a[4];
    int32_t j;
    if (o->fast) {
        if (m == 4) {
            vstrbq_s32(out + c, fp_mve_rq4(o, g, sum));
        } else {
            vstrbq_p_s32(out + c, fp_mve_rq4(o, g, sum), vctp32q((uint32_t)m));
        }
        return;
    }
    vstrwq_s32(a, vaddq_s32(sum, vldrwq_s32(g + 4 * FP_MVE_T_SUMOFF)));
    for (j = 0; j < m; ++j) {
        out[c + j] = (int8_t)fp_mve_rq1(o, a[j], c + j);
    }
}

/* Sums of x * w for `quads` groups of 4 weight rows (k int8 each, rows
 * contiguous from w) into acc[0 .. 4 * quads): per group 16 terms of 4 rows
 * (64 MACs) per 5 loads and 4 VMLADAVA.S8, the k % 16 tail predicated, and
 * about a dozen instructions to set the group up (assembly: every register
 * is in use; gcc's code for the same loop in C spends ~70). */
static inline void fp_mve_quads(const int8_t *x, const int8_t *w, int32_t k, int32_t quads,
                                int32_t *acc)
{
#if FP_MVE_ASM
    int32_t a0;
    int32_t a1;
    int32_t a2;
    int32_t a3;
    const int8_t *xp;
    const int8_t *w1;
    const int8_t *w2;
    const int8_t *w3;
    if (quads <= 0) {
        return;
    }
    /* "Te": the even registers VMLADAV's accumulator needs. lr: the loop
     * count (WLS / LE), then the tail length. */
    __asm__ volatile(
        "0:\n\t"
        "mov %[xp], %[x]\n\t"
        "add %[w1], %[w0], %[k]\n\t"
        "add %[w2], %[w1], %[k]\n\t"
        "add %[w3], %[w2], %[k]\n\t"
        "movs %[a0], #0\n\t"
        "movs %[a1], #0\n\t"
        "movs %[a2], #0\n\t"
        "movs %[a3], #0\n\t"
        "lsrs lr, %[k], #4\n\t"
        "wls lr, lr, 2f\n\t"
        "1:\n\t"
        "vldrb.8 q0, [%[xp]], #16\n\t"
        "vldrb.8 q1, [%[w0]], #16\n\t"
        "vmladava.s8 %[a0], q0, q1\n\t"
        "vldrb.8 q2, [%[w1]], #16\n\t"
        "vmladava.s8 %[a1], q0, q2\n\t"
        "vldrb.8 q3, [%[w2]], #16\n\t"
        "vmladava.s8 %[a2], q0, q3\n\t"
        "vldrb.8 q1, [%[w3]], #16\n\t"
        "vmladava.s8 %[a3], q0, q1\n\t"
        "le lr, 1b\n\t"
        "2:\n\t"
        "ands lr, %[k], #15\n\t"
        "beq 3f\n\t"
        "vctp.8 lr\n\t"
        "vpstttt\n\t"
        "vldrbt.8 q0, [%[xp]]\n\t"
        "vldrbt.8 q1, [%[w0]]\n\t"
        "vldrbt.8 q2, [%[w1]]\n\t"
        "vldrbt.8 q3, [%[w2]]\n\t"
        "vpst\n\t"
        "vldrbt.8 q4, [%[w3]]\n\t"
        "vmladava.s8 %[a0], q0, q1\n\t"
        "vmladava.s8 %[a1], q0, q2\n\t"
        "vmladava.s8 %[a2], q0, q3\n\t"
        "vmladava.s8 %[a3], q0, q4\n\t"
        "3:\n\t"
        "add %[w0], %[w3], lr\n\t"
        "strd %[a0], %[a1], [%[acc]], #8\n\t"
        "strd %[a2], %[a3], [%[acc]], #8\n\t"
        "subs %[q], %[q], #1\n\t"
        "bne 0b\n\t"
        : [a0] "=&Te"(a0), [a1] "=&Te"(a1), [a2] "=&Te"(a2), [a3] "=&Te"(a3), [xp] "=&r"(xp),
          [w1] "=&r"(w1), [w2] "=&r"(w2), [w3] "=&r"(w3), [w0] "+r"(w), [acc] "+r"(acc),
          [q] "+r"(quads)
        : [x] "r"(x), [k] "r"(k)
        : "lr", "cc", "memory", "d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8", "d9");
#else
    int32_t q;
    for (q = 0; q < quads; ++q) {
        vstrwq_s32(acc + 4 * q, fp_mve_dot4(x, w + 4 * q * k, k));
    }
#endif
}

/* Sums of x * w of `rows` rows into acc[0..rows). */
static inline void fp_mve_rows_acc(const int8_t *x, const int8_t *w, int32_t k, int32_t rows,
                                   int32_t *acc)
{
    int32_t r = rows & ~3;
    fp_mve_quads(x, w, k, rows >> 2, acc);
    for (; r < rows; ++r) {
        acc[r] = fp_mve_dot1(x, w + r * k, k);
    }
}

/* Outputs of channels [0, n) from their sums of x * w, acc[0..n) (read in
 * whole vectors: acc holds n rounded up to 4), into out[0..n). */
static inline void fp_mve_store_all(const fp_mve_out_t *o, const int32_t *acc, int8_t *out)
{
    const int32_t n = o->n;
    const int32_t *g = o->t;
    int32_t c = 0;
    if (o->fast) {
        for (; c + 4 <= n; c += 4) {
            vstrbq_s32(out + c, fp_mve_rq4(o, g, vldrwq_s32(acc + c)));
            g += 4 * FP_MVE_TABLES;
        }
        if (c < n) {
            const mve_pred16_t p = vctp32q((uint32_t)(n - c));
            vstrbq_p_s32(out + c, fp_mve_rq4(o, g, vldrwq_s32(acc + c)), p);
        }
        return;
    }
    for (; c < n; c += 4) {
        fp_mve_store4(o, vldrwq_s32(acc + c), c, n - c < 4 ? n - c : 4, out);
    }
}

/* fp_requant32 in DOUBLE mode for one (multiplier, shift) on four lanes
 * (see the header comment): mq31 the multiplier widened to Q31, left =
 * max(shift, 0) and right = min(shift, 0) of a legal shift. */
__attribute__((always_inline)) static inline int32x4_t fp_mve_rq_double_n(int32x4_t acc,
                                                                          int32_t mq31,
                                                                          int32_t left,
                                                                          int32_t right)
{
    acc = vqshlq_r_s32(acc, left);
    acc = vqrdmulhq_n_s32(acc, mq31);
    acc = vqaddq_s32(acc, vshrq_n_s32(vandq_s32(acc, vdupq_n_s32(right)), 31));
    return vrshlq_n_s32(acc, right);
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
