/*
 * fp_fixedpoint.h - the gemmlowp fixed-point functions TFLite's softmax uses
 * (gemmlowp/fixedpoint/fixedpoint.h), on plain int32 raw values, plus
 * TFLite's interpolating int16 lookup table.
 *
 * Notation: Qi means gemmlowp FixedPoint<int32_t, i>: i integer bits and
 * 31 - i fractional bits. Products of Qa and Qb values are Q(a+b), computed
 * with SaturatingRoundingDoublingHighMul (fp_srdhm). gemmlowp adds raw values
 * with plain int32 '+'; within the domains used here (checked in the comments)
 * those additions never overflow, and we saturate them so that no input can
 * cause undefined behaviour.
 */
#ifndef FP_FIXEDPOINT_H
#define FP_FIXEDPOINT_H

#include "fp_types.h"
#include "fp_requant.h"

/* Number of leading zero bits of x; 32 for x == 0. */
static inline int32_t fp_clz32(uint32_t x)
{
    int32_t n = 0;
    if (x == 0) {
        return 32;
    }
    if ((x & 0xFFFF0000u) == 0) {
        n += 16;
        x <<= 16;
    }
    if ((x & 0xFF000000u) == 0) {
        n += 8;
        x <<= 8;
    }
    if ((x & 0xF0000000u) == 0) {
        n += 4;
        x <<= 4;
    }
    if ((x & 0xC0000000u) == 0) {
        n += 2;
        x <<= 2;
    }
    if ((x & 0x80000000u) == 0) {
        n += 1;
    }
    return n;
}

/* gemmlowp SaturatingRoundingMultiplyByPOT<e>: e > 0 is a saturating
 * x * 2^e, e <= 0 is RoundingDivideByPOT(x, -e). e in [-31, 31]. */
static inline int32_t fp_fx_mul_pot(int32_t x, int32_t e)
{
    if (e > 0) {
        return fp_sat_s32((int64_t)x * ((int64_t)1 << e));
    }
    return fp_rdbpot(x, -e);
}

/* gemmlowp RoundingHalfSum: (a + b) / 2, ties away from zero. */
static inline int32_t fp_fx_rounding_half_sum(int32_t a, int32_t b)
{
    int64_t sum = (int64_t)a + (int64_t)b;
    /* C99 division truncates toward zero. */
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* gemmlowp exp_on_interval_between_negative_one_quarter_and_0_excl:
 * a is Q0 in [-1/4, 0); result Q0. Fourth-order Taylor expansion around -1/8.
 * With x = a + 1/8 in [-1/8, 1/8) every intermediate is far below 2^31. */
static inline int32_t fp_fx_exp_on_interval(int32_t a)
{
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0 */
    int32_t x = fp_add_sat_s32(a, (int32_t)1 << 28); /* + 1/8 */
    int32_t x2 = fp_srdhm(x, x);
    int32_t x3 = fp_srdhm(x2, x);
    int32_t x4 = fp_srdhm(x2, x2);
    int32_t x4_over_4 = fp_fx_mul_pot(x4, -2);
    int32_t poly = fp_fx_mul_pot(
        fp_add_sat_s32(fp_srdhm(fp_add_sat_s32(x4_over_4, x3), one_third), x2), -1);
    return fp_add_sat_s32(exp_minus_one_eighth,
                          fp_srdhm(exp_minus_one_eighth, fp_add_sat_s32(x, poly)));
}

/* gemmlowp exp_on_negative_values for a Q5 input (kScaledDiffIntegerBits = 5
 * in TFLite's softmax): a <= 0, result exp(a) in Q0 (exp(0) = INT32_MAX).
 * a = q + r with r in [-1/4, 0) handled by the Taylor step and the multiple of
 * 1/4 -q applied bit by bit with the constants exp(-2^k), k = -2..4. */
static inline int32_t fp_fx_exp_on_negative_values_q5(int32_t a)
{
    const int32_t exp_neg_pow2[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1)   */
        290630308,  /* exp(-2)   */
        39332535,   /* exp(-4)   */
        720401,     /* exp(-8)   */
        242         /* exp(-16)  */
    };
    const int32_t one_quarter = (int32_t)1 << 24; /* 1/4 in Q5 */
    int32_t a_mod_quarter_minus_quarter =
        (int32_t)((uint32_t)a & (uint32_t)(one_quarter - 1)) - one_quarter;
    /* int64: a - ... never overflows (gemmlowp's int32 subtraction does not
     * either for a <= 0; only bits 24..30 are used). */
    int64_t remainder = (int64_t)a_mod_quarter_minus_quarter - (int64_t)a;
    /* Q5 -> Q0 rescale: a saturating multiply by 2^5. */
    int32_t result = fp_fx_exp_on_interval(fp_fx_mul_pot(a_mod_quarter_minus_quarter, 5));
    int32_t k;
    for (k = 0; k < 7; ++k) {
        if ((remainder & ((int64_t)1 << (24 + k))) != 0) {
            result = fp_srdhm(result, exp_neg_pow2[k]);
        }
    }
    return a == 0 ? INT32_MAX : result;
}

/* gemmlowp one_over_one_plus_x_for_x_in_0_1: a is Q0 in [0, 1), result
 * 1 / (1 + a) in Q0. Newton-Raphson on the half denominator in Q2, starting
 * from 48/17 - 32/17 * d; x stays within [1, 2] (raw <= 2^30). */
static inline int32_t fp_fx_one_over_one_plus_x(int32_t a)
{
    const int32_t c48_over_17 = 1515870810;      /* Q2 */
    const int32_t c_neg32_over_17 = -1010580540; /* Q2 */
    const int32_t one_q2 = (int32_t)1 << 29;
    int32_t half_denominator = fp_fx_rounding_half_sum(a, INT32_MAX); /* Q0 */
    int32_t x = fp_add_sat_s32(c48_over_17, fp_srdhm(half_denominator, c_neg32_over_17));
    int i;
    for (i = 0; i < 3; ++i) {
        int32_t half_denominator_times_x = fp_srdhm(half_denominator, x);           /* Q2 */
        int32_t one_minus = fp_sat_s32((int64_t)one_q2 - half_denominator_times_x); /* Q2 */
        /* x * one_minus is Q4; Rescale<2> multiplies it by 2^2. */
        x = fp_add_sat_s32(x, fp_fx_mul_pot(fp_srdhm(x, one_minus), 2));
    }
    /* ExactMulByPot<-1> turns Q2 into Q1 (same raw); Rescale<0> is * 2^1. */
    return fp_fx_mul_pot(x, 1);
}

/* TFLite GetReciprocal: x > 0 in Q(x_integer_digits); returns a Q0 scale s
 * with 1/x = s * 2^-(*num_bits_over_unit) (s in (1/2, 1]). */
static inline int32_t fp_fx_reciprocal(int32_t x, int32_t x_integer_digits,
                                       int32_t *num_bits_over_unit)
{
    int32_t headroom_plus_one = fp_clz32((uint32_t)x); /* 1..31 for x > 0 */
    uint32_t shifted_minus_one = ((uint32_t)x << headroom_plus_one) - 0x80000000u;
    *num_bits_over_unit = x_integer_digits - headroom_plus_one;
    return fp_fx_one_over_one_plus_x((int32_t)shifted_minus_one);
}

/* Wrap to int16 the way a static_cast<int16_t> does on two's complement
 * targets, without implementation-defined conversions. */
static inline int32_t fp_wrap_s16(int32_t v)
{
    return (int32_t)(((uint32_t)v + 0x8000u) & 0xFFFFu) - 0x8000;
}

/* TFLite generic_int16_table_lookup / lut_lookup_with_interpolation for a
 * 513-entry int16 table: the top 9 bits of value + 32768 select a base entry,
 * the low 7 bits interpolate linearly to the next one. */
static inline int32_t fp_lut_lookup_s16(int32_t value, const int16_t *lut)
{
    uint32_t biased = (uint32_t)(value + 32768); /* value in [-32768, 32767] */
    uint32_t index = biased >> 7;                /* 0..511 */
    int32_t offset = (int32_t)(biased & 0x7Fu);
    int32_t base = lut[index];
    int32_t slope = fp_wrap_s16((int32_t)lut[index + 1] - base);
    int32_t delta = (int32_t)fp_asr64((int64_t)slope * offset + 64, 7);
    return fp_wrap_s16(base + delta);
}

#endif /* FP_FIXEDPOINT_H */
