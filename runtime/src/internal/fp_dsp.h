/*
 * fp_dsp.h - building blocks of the Arm DSP-extension kernel variants
 * (fp_*_dsp, Cortex-M4/M7/M33): the specialised int8 epilogue and the packed
 * 16-bit dot products.
 *
 * Exactness argument shared by every _dsp kernel (the reference sums in int64
 * and saturates sum + bias to int32):
 *   - the fast paths only run when input_offset is in [-127, 128], so
 *     x + input_offset lies in [-255, 255] and fits an int16 lane, and the
 *     number of terms K of one output satisfies K * 255 * 128 <= INT32_MAX
 *     (fp_dsp_terms_ok). The true sum then fits an int32, so accumulating it
 *     modulo 2^32 (SMLAD wraps; only its Q flag notices) gives it exactly.
 *   - QADD(sum, bias) is then exactly fp_sat_s32(sum + bias), and
 *     QADD(r, output_offset) is fp_add_sat_s32.
 *   - DOUBLE rounding: fp_srdhm(x, m) with m >= 0 (a legal multiplier widened
 *     to Q31 is below 2^31, so the INT32_MIN * INT32_MIN case cannot occur) is
 *     floor((x * m + 2^30) / 2^31) for both signs: for x * m < 0 gemmlowp's
 *     truncation of (x * m + 1 - 2^30) / 2^31 is a ceiling, and
 *     ceil(y / 2^31) = floor((y + 2^31 - 1) / 2^31). The rounding divide by
 *     2^e is floor(h / 2^e) + (remainder > threshold) as in fp_rdbpot.
 *     Right shifts of negative values rely on gcc/clang's arithmetic shift
 *     (implementation-defined, not undefined; these files are only built
 *     with them for Arm).
 *   - SINGLE and SHIFT_ONLY modes go through fp_requant32 itself.
 * Everything else (wider input offsets, huge windows) calls the reference.
 */
#ifndef FP_DSP_H
#define FP_DSP_H

#include <string.h>

#include "fp_types.h"
#include "fp_requant.h"

/* Scratch sizes use this on every target: a variant's scratch size is the
 * same wherever it is computed (the host sizes a board's scratch). */
/* Input offsets whose x + offset fits an int16 lane and whose padding value
 * -offset fits an int8 (the reference skips padded taps; a padded tap that
 * contributes (x + offset) * w = 0 is the same). */
#define FP_DSP_OFFSET_MIN (-127)
#define FP_DSP_OFFSET_MAX 128

/* 1 when an output of k terms (each at most 255 * 128 in magnitude) cannot
 * overflow an int32 partial sum, and the input offset fits the lanes. */
static inline int fp_dsp_terms_ok(int32_t input_offset, int64_t k)
{
    return input_offset >= FP_DSP_OFFSET_MIN && input_offset <= FP_DSP_OFFSET_MAX
        && k * 255 * 128 <= INT32_MAX;
}

/* Scratch bytes of fp_conv2d_s8_dsp and its fast entry (dims only), or 0 when
 * the window is too long for int32 partial sums (fp_conv2d_s8_dsp_scratch_size
 * describes the layout). */
static inline size_t fp_dsp_conv2d_scratch_bytes(const fp_conv2d_params_t *params)
{
    int64_t k;
    if (params == NULL || params->filter.h <= 0 || params->filter.w <= 0
        || params->filter.c <= 0) {
        return 0;
    }
    k = (int64_t)params->filter.h * params->filter.w * params->filter.c;
    if (!fp_dsp_terms_ok(0, k)) {
        return 0;
    }
    return (size_t)(16 * (k / 4) + 8 * (k % 4) + ((k + 3) & ~(int64_t)3) + 3);
}

/* Scratch bytes of fp_depthwise_conv2d_s8_dsp and its fast entry (dims only;
 * fp_depthwise_conv2d_s8_dsp_scratch_size describes the layout). */
static inline size_t fp_dsp_depthwise_scratch_bytes(const fp_depthwise_conv2d_params_t *params)
{
    int64_t taps;
    int64_t c4;
    if (params == NULL || params->filter.h <= 0 || params->filter.w <= 0
        || params->output.c <= 0 || params->depth_multiplier != 1) {
        return 0;
    }
    taps = (int64_t)params->filter.h * params->filter.w;
    c4 = params->output.c & ~(int32_t)3;
    if (c4 == 0 || !fp_dsp_terms_ok(0, taps)) {
        return 0;
    }
    return (size_t)(2 * c4 * taps + 16 * c4 + 3);
}

/* 1 when the epilogue's fast path applies to every channel: DOUBLE rounding
 * and no left shift (every TFLite-style table). The _dsp_fast entries require
 * it (the code generator picks them only for such layers), so their epilogue
 * has no run-time mode test and no generic requantization. */
static inline int fp_dsp_rq_fast_ok(const fp_requant_t *rq)
{
    int32_t i;
    if (!fp_rq_plain_double(rq->mode)) {
        return 0;
    }
    for (i = 0; i < rq->n; ++i) {
        if (rq->shift[i] > 0) {
            return 0;
        }
    }
    return 1;
}

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define FP_DSP_AVAILABLE 1
#include <arm_acle.h>

/* The hot loops are inline assembly when optimising: they need 14 registers,
 * which an unoptimised build (frame pointer reserved) cannot give them; it
 * and -DFP_DSP_NO_ASM get the same loops in C (intrinsics), with the same
 * results (tests/kernels_opt checks both). */
#if defined(__OPTIMIZE__) && !defined(FP_DSP_NO_ASM)
#define FP_DSP_ASM 1
#else
#define FP_DSP_ASM 0
#endif


/* Unaligned 32-bit load (a single LDR on v7E-M / v8-M Mainline). */
static inline int32_t fp_dsp_ld32(const void *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* SXTB16 / SXTAB16 of v rotated right by 8 (bytes 1 and 3): one instruction
 * with the ROR #8 operand, which <arm_acle.h> has no intrinsic for (gcc 12
 * does not fold a rotate into the intrinsic). */
static inline int32_t fp_dsp_sxtb16_ror8(int32_t v)
{
    int32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

static inline int32_t fp_dsp_sxtab16_ror8(int32_t a, int32_t v)
{
    int32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(v));
    return r;
}

/* Both input offsets in the two int16 lanes, for SXTAB16. */
static inline int32_t fp_dsp_off2(int32_t input_offset)
{
    return (int32_t)(((uint32_t)input_offset & 0xFFFFu) * 0x10001u);
}

/* Everything of the epilogue that is fixed for one call. */
typedef struct {
    const int32_t *bias;       /* fp_dsp_zero (with bias_mask 0) when there is no bias */
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t bias_mask;         /* channel index mask: -1, or 0 for one shared entry */
    int32_t rq_mask;           /* -1 per-channel table, 0 per-tensor */
    int32_t q31_shift;         /* 32 - multiplier_bits: widens a multiplier to Q31 */
    int32_t fast;              /* DOUBLE mode and no shift > 0: fp_dsp_out_fast */
    fp_rq_mode_t mode;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
} fp_dsp_out_t;

static const int32_t fp_dsp_zero[1] = {0};

static inline fp_dsp_out_t fp_dsp_out_init(const int32_t *bias, const fp_requant_t *rq,
                                           int32_t output_offset, int32_t act_min,
                                           int32_t act_max)
{
    fp_dsp_out_t o;
    int32_t i;
    o.bias = bias != NULL ? bias : fp_dsp_zero;
    o.bias_mask = bias != NULL ? -1 : 0;
    o.multiplier = rq->multiplier;
    o.shift = rq->shift;
    o.rq_mask = rq->n != 1 ? -1 : 0;
    o.q31_shift = 32 - (int32_t)rq->mode.multiplier_bits; /* legal: bits in [2, 32] */
    o.fast = fp_rq_plain_double(rq->mode);
    for (i = 0; i < rq->n; ++i) {
        o.fast = o.fast && rq->shift[i] <= 0;
    }
    o.mode = rq->mode;
    o.output_offset = output_offset;
    o.act_min = act_min;
    o.act_max = act_max;
    return o;
}

/* fp_requant32 in DOUBLE mode for a legal shift in [-31, 31] and a Q31
 * multiplier m in [0, 2^31) (see the header comment). */
static inline int32_t fp_dsp_rq_double(int32_t acc, int32_t m, int32_t shift)
{
    int32_t x = acc;
    int32_t right = 0;
    int32_t h;
    int32_t mask;
    int32_t thr;
    if (shift > 0) {
        x = fp_sat_s32((int64_t)acc * ((int64_t)1 << shift));
    } else {
        right = -shift;
    }
    h = (int32_t)(((int64_t)x * m + ((int64_t)1 << 30)) >> 31);
    mask = (int32_t)((1u << right) - 1u);
    thr = (mask >> 1) + (h < 0 ? 1 : 0);
    return (h >> right) + ((h & mask) > thr ? 1 : 0);
}

/* Output offset and activation clamp. */
static inline int32_t fp_dsp_finish(const fp_dsp_out_t *o, int32_t r)
{
    r = __qadd(r, o->output_offset);
    r = r < o->act_min ? o->act_min : r;
    return r > o->act_max ? o->act_max : r;
}

/* One channel's epilogue constants on the fast path (o->fast): bias, Q31
 * multiplier, right shift and its remainder mask (16 bytes: kernels may keep
 * a table of them in scratch). */
typedef struct {
    int32_t bias;
    int32_t m;
    int32_t right;
    int32_t mask;
} fp_dsp_chan_t;

__attribute__((always_inline)) static inline fp_dsp_chan_t fp_dsp_chan(const fp_dsp_out_t *o,
                                                                       int32_t oc)
{
    fp_dsp_chan_t c;
    const int32_t i = oc & o->rq_mask;
    c.bias = o->bias[oc & o->bias_mask];
    c.m = (int32_t)((uint32_t)o->multiplier[i] << o->q31_shift);
    c.right = -o->shift[i];
    c.mask = (int32_t)((1u << c.right) - 1u);
    return c;
}

/* The reference's fp_mac_out_acc32 for an exact int32 sum, fast path:
 * DOUBLE rounding, right shift only. off / lo / hi: output offset and
 * activation range (passed as values so that they stay in registers). */
__attribute__((always_inline)) static inline int32_t fp_dsp_apply(const fp_dsp_chan_t *c,
                                                                  int32_t sum, int32_t off,
                                                                  int32_t lo, int32_t hi)
{
    const int32_t acc = __qadd(sum, c->bias);
    const int32_t h = (int32_t)(((int64_t)acc * c->m + ((int64_t)1 << 30)) >> 31);
    const int32_t thr = (c->mask >> 1) + (int32_t)((uint32_t)h >> 31);
    int32_t r = (h >> c->right) + ((h & c->mask) > thr ? 1 : 0);
    r = __qadd(r, off);
    r = r < lo ? lo : r;
    return r > hi ? hi : r;
}

__attribute__((always_inline)) static inline int32_t fp_dsp_out_fast(const fp_dsp_out_t *o,
                                                                     int32_t sum, int32_t oc)
{
    const fp_dsp_chan_t c = fp_dsp_chan(o, oc);
    return fp_dsp_apply(&c, sum, o->output_offset, o->act_min, o->act_max);
}

/* The same for any legal requantization (every mode and shift). */
__attribute__((noinline, unused)) static int32_t fp_dsp_out_any(const fp_dsp_out_t *o, int32_t sum,
                                                        int32_t oc)
{
    const int32_t i = oc & o->rq_mask;
    const int32_t acc = __qadd(sum, o->bias[oc & o->bias_mask]);
    int32_t r;
    if (fp_rq_plain_double(o->mode)) {
        r = fp_dsp_rq_double(acc, (int32_t)((uint32_t)o->multiplier[i] << o->q31_shift),
                             o->shift[i]);
    } else {
        r = fp_requant32(acc, o->multiplier[i], o->shift[i], o->mode);
    }
    return fp_dsp_finish(o, r);
}

__attribute__((always_inline)) static inline int32_t fp_dsp_out(const fp_dsp_out_t *o,
                                                                int32_t sum, int32_t oc)
{
    return o->fast ? fp_dsp_out_fast(o, sum, oc) : fp_dsp_out_any(o, sum, oc);
}

/*
 * Packed columns. A column of k int8 inputs (plus offset) is stored as int32
 * words: for each group of 4 inputs x0..x3 the words (x0, x2) and (x1, x3)
 * (SXTAB16 of the word and of the word rotated by 8: two int16 lanes each),
 * then the k % 4 tail values one per word. Weights unpacked with SXTB16 the
 * same way line up lane by lane, so one SMLAD does two MACs with no
 * re-ordering.
 */

/* Two output channels (weight rows wa, wb of k = 4 * k4 + kt int8) times two
 * interleaved columns: words per group [px0 (x0,x2), px0 (x1,x3), px1 (x0,x2),
 * px1 (x1,x3)], then the tail as [px0 x, px1 x] word pairs. acc[ch * 2 + px].
 * The main loop is written in assembly: 18 instructions per 16 MACs, which
 * needs all 14 allocatable registers (gcc's allocation of the same loop in C
 * spills three of them per iteration). */
__attribute__((noinline, unused)) static void fp_dsp_dot_2x2(const int8_t *wa, const int8_t *wb,
                                                     const int32_t *x, int32_t k4, int32_t kt,
                                                     int32_t acc[4])
{
    int32_t a00 = 0;
    int32_t a01 = 0;
    int32_t a10 = 0;
    int32_t a11 = 0;
    int32_t j;
#if FP_DSP_ASM
    if (k4 > 0) {
        int32_t w02;
        int32_t w13;
        int32_t v02;
        int32_t v13;
        int32_t x0;
        int32_t x1;
        __asm__ volatile(
            "1:\n\t"
            "ldr %[w02], [%[wa]], #4\n\t"
            "ldr %[v02], [%[wb]], #4\n\t"
            "sxtb16 %[w13], %[w02], ror #8\n\t"
            "sxtb16 %[w02], %[w02]\n\t"
            "sxtb16 %[v13], %[v02], ror #8\n\t"
            "sxtb16 %[v02], %[v02]\n\t"
            "ldrd %[x0], %[x1], [%[x]], #16\n\t"
            "smlad %[a00], %[w02], %[x0], %[a00]\n\t"
            "smlad %[a00], %[w13], %[x1], %[a00]\n\t"
            "smlad %[a10], %[v02], %[x0], %[a10]\n\t"
            "smlad %[a10], %[v13], %[x1], %[a10]\n\t"
            "ldrd %[x0], %[x1], [%[x], #-8]\n\t"
            "smlad %[a01], %[w02], %[x0], %[a01]\n\t"
            "smlad %[a01], %[w13], %[x1], %[a01]\n\t"
            "smlad %[a11], %[v02], %[x0], %[a11]\n\t"
            "smlad %[a11], %[v13], %[x1], %[a11]\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [a00] "+r"(a00), [a01] "+r"(a01), [a10] "+r"(a10), [a11] "+r"(a11),
              [wa] "+r"(wa), [wb] "+r"(wb), [x] "+r"(x), [n] "+r"(k4), [w02] "=&r"(w02),
              [w13] "=&r"(w13), [v02] "=&r"(v02), [v13] "=&r"(v13), [x0] "=&r"(x0),
              [x1] "=&r"(x1)
            :
            : "cc", "memory");
    }
#else
    for (j = 0; j < k4; ++j) {
        int32_t w = fp_dsp_ld32(wa);
        int32_t w02 = (int32_t)__sxtb16(w);
        int32_t w13 = fp_dsp_sxtb16_ror8(w);
        a00 = __smlad(w02, x[0], a00);
        a00 = __smlad(w13, x[1], a00);
        a01 = __smlad(w02, x[2], a01);
        a01 = __smlad(w13, x[3], a01);
        w = fp_dsp_ld32(wb);
        w02 = (int32_t)__sxtb16(w);
        w13 = fp_dsp_sxtb16_ror8(w);
        a10 = __smlad(w02, x[0], a10);
        a10 = __smlad(w13, x[1], a10);
        a11 = __smlad(w02, x[2], a11);
        a11 = __smlad(w13, x[3], a11);
        wa += 4;
        wb += 4;
        x += 4;
    }
#endif
    for (j = 0; j < kt; ++j) {
        /* uint32 products and sums: wrap-around arithmetic, exact in the end */
        a00 = (int32_t)((uint32_t)a00 + (uint32_t)(wa[j] * x[0]));
        a01 = (int32_t)((uint32_t)a01 + (uint32_t)(wa[j] * x[1]));
        a10 = (int32_t)((uint32_t)a10 + (uint32_t)(wb[j] * x[0]));
        a11 = (int32_t)((uint32_t)a11 + (uint32_t)(wb[j] * x[1]));
        x += 2;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* Two weight rows (k = 4 * k4 + kt int8) times one int8 input vector x with
 * the offset (in both lanes of off2) added on the fly. */
static inline void fp_dsp_dot_2x1(const int8_t *wa, const int8_t *wb, const int8_t *x,
                                  int32_t k4, int32_t kt, int32_t input_offset, int32_t off2,
                                  int32_t acc[2])
{
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t j;
    for (j = 0; j < k4; ++j) {
        const int32_t v = fp_dsp_ld32(x);
        const int32_t x02 = (int32_t)__sxtab16(off2, v);
        const int32_t x13 = fp_dsp_sxtab16_ror8(off2, v);
        int32_t w = fp_dsp_ld32(wa);
        a0 = __smlad((int32_t)__sxtb16(w), x02, a0);
        a0 = __smlad(fp_dsp_sxtb16_ror8(w), x13, a0);
        w = fp_dsp_ld32(wb);
        a1 = __smlad((int32_t)__sxtb16(w), x02, a1);
        a1 = __smlad(fp_dsp_sxtb16_ror8(w), x13, a1);
        x += 4;
        wa += 4;
        wb += 4;
    }
    for (j = 0; j < kt; ++j) {
        const int32_t xv = x[j] + input_offset;
        a0 = (int32_t)((uint32_t)a0 + (uint32_t)(wa[j] * xv));
        a1 = (int32_t)((uint32_t)a1 + (uint32_t)(wb[j] * xv));
    }
    acc[0] = a0;
    acc[1] = a1;
}

/* Four weight rows (wa, wa + stride, wc, wc + stride; k = 4 * k4 + kt int8
 * each) times one int8 input vector x, the offset (both lanes of off2) added
 * by SXTAB16 once per 4 inputs for all four rows: 25 instructions per 16
 * MACs. Assembly for the same register reason as fp_dsp_dot_2x2. */
__attribute__((noinline, unused)) static void fp_dsp_dot_4x1(const int8_t *wa, const int8_t *wc,
                                                             int32_t stride, const int8_t *x,
                                                             int32_t k4, int32_t kt,
                                                             int32_t input_offset, int32_t off2,
                                                             int32_t acc[4])
{
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t a2 = 0;
    int32_t a3 = 0;
    int32_t j;
#if FP_DSP_ASM
    if (k4 > 0) {
        int32_t x02;
        int32_t x13;
        int32_t w;
        int32_t t;
        __asm__ volatile(
            "1:\n\t"
            "ldr %[x02], [%[x]], #4\n\t"
            "sxtab16 %[x13], %[off2], %[x02], ror #8\n\t"
            "sxtab16 %[x02], %[off2], %[x02]\n\t"
            "ldr %[w], [%[wa], %[stride]]\n\t"
            "sxtb16 %[t], %[w], ror #8\n\t"
            "sxtb16 %[w], %[w]\n\t"
            "smlad %[a1], %[w], %[x02], %[a1]\n\t"
            "smlad %[a1], %[t], %[x13], %[a1]\n\t"
            "ldr %[w], [%[wa]], #4\n\t"
            "sxtb16 %[t], %[w], ror #8\n\t"
            "sxtb16 %[w], %[w]\n\t"
            "smlad %[a0], %[w], %[x02], %[a0]\n\t"
            "smlad %[a0], %[t], %[x13], %[a0]\n\t"
            "ldr %[w], [%[wc], %[stride]]\n\t"
            "sxtb16 %[t], %[w], ror #8\n\t"
            "sxtb16 %[w], %[w]\n\t"
            "smlad %[a3], %[w], %[x02], %[a3]\n\t"
            "smlad %[a3], %[t], %[x13], %[a3]\n\t"
            "ldr %[w], [%[wc]], #4\n\t"
            "sxtb16 %[t], %[w], ror #8\n\t"
            "sxtb16 %[w], %[w]\n\t"
            "smlad %[a2], %[w], %[x02], %[a2]\n\t"
            "smlad %[a2], %[t], %[x13], %[a2]\n\t"
            "subs %[n], %[n], #1\n\t"
            "bne 1b\n\t"
            : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [wa] "+r"(wa),
              [wc] "+r"(wc), [x] "+r"(x), [n] "+r"(k4), [x02] "=&r"(x02), [x13] "=&r"(x13),
              [w] "=&r"(w), [t] "=&r"(t)
            : [stride] "r"(stride), [off2] "r"(off2)
            : "cc", "memory");
    }
#else
    for (j = 0; j < k4; ++j) {
        const int32_t v = fp_dsp_ld32(x);
        const int32_t x02 = (int32_t)__sxtab16(off2, v);
        const int32_t x13 = fp_dsp_sxtab16_ror8(off2, v);
        int32_t w = fp_dsp_ld32(wa);
        a0 = __smlad((int32_t)__sxtb16(w), x02, a0);
        a0 = __smlad(fp_dsp_sxtb16_ror8(w), x13, a0);
        w = fp_dsp_ld32(wa + stride);
        a1 = __smlad((int32_t)__sxtb16(w), x02, a1);
        a1 = __smlad(fp_dsp_sxtb16_ror8(w), x13, a1);
        w = fp_dsp_ld32(wc);
        a2 = __smlad((int32_t)__sxtb16(w), x02, a2);
        a2 = __smlad(fp_dsp_sxtb16_ror8(w), x13, a2);
        w = fp_dsp_ld32(wc + stride);
        a3 = __smlad((int32_t)__sxtb16(w), x02, a3);
        a3 = __smlad(fp_dsp_sxtb16_ror8(w), x13, a3);
        x += 4;
        wa += 4;
        wc += 4;
    }
#endif
    for (j = 0; j < kt; ++j) {
        const int32_t xv = x[j] + input_offset;
        a0 = (int32_t)((uint32_t)a0 + (uint32_t)(wa[j] * xv));
        a1 = (int32_t)((uint32_t)a1 + (uint32_t)(wa[stride + j] * xv));
        a2 = (int32_t)((uint32_t)a2 + (uint32_t)(wc[j] * xv));
        a3 = (int32_t)((uint32_t)a3 + (uint32_t)(wc[stride + j] * xv));
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

#endif /* __ARM_FEATURE_DSP */

#endif /* FP_DSP_H */
