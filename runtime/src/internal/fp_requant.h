/*
 * fp_requant.h - internal fixed-point helpers shared by all kernels.
 *
 * Written so that no input causes undefined behaviour: every shift amount is
 * clamped to the legal width, signed right shifts go through fp_asr*, which
 * floors without relying on implementation-defined behaviour, and every
 * narrowing saturates. The exact semantics are documented in docs/rounding.md
 * and mirrored by the Python reference in sdk/fixpoint/reference/.
 */
#ifndef FP_REQUANT_H
#define FP_REQUANT_H

#include "fp_types.h"

/* Terms of an int8 x int8 dot product (with offsets) are at most 255 * 128 in
 * magnitude, so this many of them always fit an int32 partial sum. */
#define FP_MAC_BLOCK 65536

static inline int32_t fp_min_s32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t fp_max_s32(int32_t a, int32_t b) { return a > b ? a : b; }

static inline int32_t fp_clamp_s32(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

static inline int32_t fp_sat_s32(int64_t x)
{
    if (x > INT32_MAX) {
        return INT32_MAX;
    }
    if (x < INT32_MIN) {
        return INT32_MIN;
    }
    return (int32_t)x;
}

static inline int64_t fp_sat_s64_range(int64_t x, int64_t lo, int64_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/* floor(x / 2^s) for s in [0, 63], without implementation-defined shifts. */
static inline int64_t fp_asr64(int64_t x, int32_t s)
{
    if (s <= 0) {
        return x;
    }
    if (s > 63) {
        s = 63;
    }
    if (x >= 0) {
        return x >> s;
    }
    /* -(x + 1) is non-negative and never overflows, even for INT64_MIN. */
    return -(int64_t)((uint64_t)(-(x + 1)) >> s) - 1;
}

/* TFLite SaturatingRoundingDoublingHighMul: round(a * b / 2^31), ties toward
 * +infinity (gemmlowp's nudge then truncation), saturating the single
 * overflow case a = b = INT32_MIN. */
static inline int32_t fp_srdhm(int32_t a, int32_t b)
{
    int64_t ab;
    int64_t nudge;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C99 division truncates toward zero, as gemmlowp requires. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* TFLite RoundingDivideByPOT: x / 2^exponent rounded half away from zero,
 * exponent clamped to [0, 31]. */
static inline int32_t fp_rdbpot(int32_t x, int32_t exponent)
{
    int32_t mask;
    int32_t remainder;
    int32_t threshold;
    int32_t result;
    if (exponent <= 0) {
        return x;
    }
    if (exponent > 31) {
        exponent = 31;
    }
    mask = (int32_t)(((int64_t)1 << exponent) - 1);
    remainder = (int32_t)((uint32_t)x & (uint32_t)mask);
    threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    result = (int32_t)fp_asr64(x, exponent);
    return result + (remainder > threshold ? 1 : 0);
}

/* 64-bit RoundingDivideByPOT (half away from zero), exponent in [0, 62]. */
static inline int64_t fp_rdbpot64(int64_t x, int32_t exponent)
{
    int64_t mask;
    int64_t remainder;
    int64_t threshold;
    if (exponent <= 0) {
        return x;
    }
    if (exponent > 62) {
        exponent = 62;
    }
    mask = ((int64_t)1 << exponent) - 1;
    remainder = (int64_t)((uint64_t)x & (uint64_t)mask);
    threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return fp_asr64(x, exponent) + (remainder > threshold ? 1 : 0);
}

/* A Q(bits-1) multiplier widened to Q31 (bits in [2, 32]). */
static inline int32_t fp_multiplier_q31(int32_t multiplier, uint8_t bits)
{
    int32_t b = bits < 2 ? 2 : (bits > 32 ? 32 : (int32_t)bits);
    return (int32_t)((uint32_t)multiplier << (32 - b));
}

/* x / 2^t rounded to nearest, ties to even, for t in [1, 62] (exact for |x| < 2^62). */
static inline int64_t fp_round_half_even64(int64_t x, int32_t t)
{
    const int64_t q = fp_asr64(x, t);                       /* floor */
    const int64_t rem = x - q * ((int64_t)1 << t);          /* in [0, 2^t) */
    const int64_t half = (int64_t)1 << (t - 1);
    if (rem > half || (rem == half && (q & 1) != 0)) {
        return q + 1;
    }
    return q;
}

/* The accumulator as an engine's acc_bits-wide register holds it (acc_bits 0: int32
 * unchanged): saturated to [-2^(b-1), 2^(b-1) - 1], or wrapped modulo 2^b. */
static inline int32_t fp_acc_fit(int32_t acc, fp_rq_mode_t mode)
{
    int64_t lo;
    int64_t hi;
    int64_t span;
    int64_t v;
    if (mode.acc_bits == 0 || mode.acc_bits >= 32) {
        return acc;
    }
    hi = ((int64_t)1 << (mode.acc_bits - 1)) - 1;
    lo = -hi - 1;
    if (!mode.acc_wrap) {
        return (int32_t)fp_sat_s64_range(acc, lo, hi);
    }
    span = (int64_t)1 << mode.acc_bits;
    v = ((int64_t)acc - lo) % span;                  /* C99 %: sign of the dividend */
    v = v < 0 ? v + span : v;
    return (int32_t)(v + lo);
}

/* 1 when a kernel may take its DOUBLE-rounding fast path: DOUBLE and the plain
 * int32 accumulator (an engine's narrow accumulator goes through fp_requant32). */
static inline int fp_rq_plain_double(fp_rq_mode_t mode)
{
    return mode.rounding == FP_ROUND_DOUBLE && (mode.acc_bits == 0 || mode.acc_bits >= 32);
}

/*
 * Scale a 32-bit accumulator (see docs/rounding.md), after fp_acc_fit:
 *   DOUBLE     : rdbpot(srdhm(sat(acc * 2^max(shift,0)), m_q31), max(-shift,0))
 *   SINGLE     : floor((acc * m + 2^(t-1)) / 2^t), t = (bits - 1) - shift, t in [1, 62]
 *   SHIFT_ONLY : shift >= 0 ? sat(acc * 2^shift) : rdbpot(acc, -shift)
 *   HALF_EVEN  : as SINGLE, ties to even
 */
static inline int32_t fp_requant32(int32_t acc, int32_t multiplier, int32_t shift,
                                   fp_rq_mode_t mode)
{
    int32_t bits = mode.multiplier_bits < 2 ? 2
                 : (mode.multiplier_bits > 32 ? 32 : (int32_t)mode.multiplier_bits);
    /* no effect on any shift the clamps below keep; makes -shift and
     * (bits - 1) - shift overflow-free for every int32 shift */
    shift = shift > 64 ? 64 : (shift < -64 ? -64 : shift);
    acc = fp_acc_fit(acc, mode);
    if (mode.rounding == FP_ROUND_SINGLE || mode.rounding == FP_ROUND_HALF_EVEN) {
        int32_t total = (bits - 1) - shift;
        int64_t prod;
        if (total < 1) {
            total = 1;
        }
        if (total > 62) {
            total = 62;
        }
        prod = (int64_t)acc * (int64_t)multiplier;
        if (mode.rounding == FP_ROUND_HALF_EVEN) {
            return fp_sat_s32(fp_round_half_even64(prod, total));
        }
        return fp_sat_s32(fp_asr64(prod + ((int64_t)1 << (total - 1)), total));
    }
    if (mode.rounding == FP_ROUND_SHIFT_ONLY) {
        if (shift >= 0) {
            int32_t s = shift > 31 ? 31 : shift;
            return fp_sat_s32((int64_t)acc * ((int64_t)1 << s));
        }
        return fp_rdbpot(acc, -shift);
    }
    {
        int32_t left = shift > 0 ? (shift > 31 ? 31 : shift) : 0;
        int32_t right = shift > 0 ? 0 : -shift;
        int32_t x = fp_sat_s32((int64_t)acc * ((int64_t)1 << left));
        return fp_rdbpot(fp_srdhm(x, fp_multiplier_q31(multiplier, (uint8_t)bits)), right);
    }
}

/*
 * Scale a 64-bit accumulator (s16 datapath), TFLite's int64
 * MultiplyByQuantizedMultiplier: acc saturated to [-2^47, 2^47), the multiplier
 * reduced to Q15 (rounded, capped at 0x7FFF), then one rounding. DOUBLE and
 * SINGLE are the same computation here; SHIFT_ONLY is a rounding shift.
 */
static inline int32_t fp_requant64(int64_t acc, int32_t multiplier, int32_t shift,
                                   fp_rq_mode_t mode)
{
    int32_t bits = mode.multiplier_bits < 2 ? 2
                 : (mode.multiplier_bits > 32 ? 32 : (int32_t)mode.multiplier_bits);
    shift = shift > 64 ? 64 : (shift < -64 ? -64 : shift); /* see fp_requant32 */
    int64_t x = fp_sat_s64_range(acc, -((int64_t)1 << 47), ((int64_t)1 << 47) - 1);
    int64_t reduced;
    int32_t total;
    if (mode.rounding == FP_ROUND_SHIFT_ONLY) {
        if (shift >= 0) {
            int32_t s = shift > 15 ? 15 : shift;
            return fp_sat_s32(x * ((int64_t)1 << s));
        }
        return fp_sat_s32(fp_rdbpot64(x, -shift));
    }
    if (bits > 16) {
        int32_t d = bits - 16;
        int64_t cap = (int64_t)0x7FFF << d;
        reduced = ((int64_t)multiplier < cap)
                ? (((int64_t)multiplier + ((int64_t)1 << (d - 1))) >> d)
                : 0x7FFF;
        total = 15 - shift;
    } else {
        reduced = multiplier;
        total = (bits - 1) - shift;
    }
    if (reduced < 0) {
        reduced = 0;
    }
    if (reduced > 0x7FFF) {
        reduced = 0x7FFF; /* only an out-of-range Q(bits-1) multiplier; keeps x * reduced < 2^62 */
    }
    if (total < 1) {
        total = 1;
    }
    if (total > 62) {
        total = 62;
    }
    if (mode.rounding == FP_ROUND_HALF_EVEN) {
        return fp_sat_s32(fp_round_half_even64(x * reduced, total));
    }
    return fp_sat_s32(fp_asr64(x * reduced + ((int64_t)1 << (total - 1)), total));
}

/* Saturating add of two int32 values. */
static inline int32_t fp_add_sat_s32(int32_t a, int32_t b)
{
    return fp_sat_s32((int64_t)a + (int64_t)b);
}

/* ---- legal requantization parameters (docs/rounding.md) ----------------
 * Kernels reject (FP_ERR_ARG) what the primitives above would silently clamp.
 * acc64 != 0 selects the int64 accumulator (s16 datapath, fp_requant64). */

static inline int fp_rq_mode_legal(fp_rq_mode_t mode)
{
    return mode.rounding <= FP_ROUND_HALF_EVEN && mode.multiplier_bits >= 2
        && mode.multiplier_bits <= 32 && (mode.acc_bits == 0 || (mode.acc_bits >= 8 && mode.acc_bits <= 32))
        && mode.acc_wrap <= 1;
}

/* Legal shift values of a (legal) mode: [*lo, *hi]. */
static inline void fp_rq_shift_range(fp_rq_mode_t mode, int acc64, int32_t *lo, int32_t *hi)
{
    int32_t bits = (int32_t)mode.multiplier_bits;
    if (mode.rounding == FP_ROUND_SHIFT_ONLY) {
        *lo = acc64 ? -62 : -31;
        *hi = acc64 ? 15 : 31;
    } else if (mode.rounding == FP_ROUND_SINGLE || mode.rounding == FP_ROUND_HALF_EVEN || acc64) {
        /* one rounding shift by t = (bits' - 1) - shift, t in [1, 62] */
        if (acc64 && bits > 16) {
            bits = 16;
        }
        *lo = (bits - 1) - 62;
        *hi = (bits - 1) - 1;
    } else {
        *lo = -31;
        *hi = 31;
    }
}

/* One scale: mode legal, shift in range, 0 <= multiplier < 2^(bits-1)
 * (the multiplier is ignored, hence unchecked, in SHIFT_ONLY mode). */
static inline int fp_rq_scale_legal(int32_t multiplier, int32_t shift, fp_rq_mode_t mode,
                                    int acc64)
{
    int32_t lo;
    int32_t hi;
    if (!fp_rq_mode_legal(mode)) {
        return 0;
    }
    fp_rq_shift_range(mode, acc64, &lo, &hi);
    if (shift < lo || shift > hi) {
        return 0;
    }
    if (mode.rounding == FP_ROUND_SHIFT_ONLY) {
        return 1;
    }
    return multiplier >= 0
        && (int64_t)multiplier < ((int64_t)1 << (mode.multiplier_bits - 1));
}

/* A per-tensor (n == 1) or per-channel (n == channels) requant table. */
static inline int fp_requant_legal(const fp_requant_t *rq, int32_t channels, int acc64)
{
    int32_t i;
    if (rq->multiplier == NULL || rq->shift == NULL || (rq->n != 1 && rq->n != channels)) {
        return 0;
    }
    for (i = 0; i < rq->n; ++i) {
        if (!fp_rq_scale_legal(rq->multiplier[i], rq->shift[i], rq->mode, acc64)) {
            return 0;
        }
    }
    return 1;
}

#endif /* FP_REQUANT_H */
