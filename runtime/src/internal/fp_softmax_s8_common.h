/*
 * fp_softmax_s8_common.h - the int8-input half of TFLite's reference quantized
 * Softmax, shared by fp_softmax_s8 (int8 out) and fp_softmax_s8_s16 (int16
 * out): parameter check, exp of a row's differences, the reciprocal of the
 * row's sum of exps. Only the final scaling differs between the two outputs.
 */
#ifndef FP_SOFTMAX_S8_COMMON_H
#define FP_SOFTMAX_S8_COMMON_H

#include "fp_types.h"
#include "fp_fixedpoint.h"
#include "fp_misc_check.h"

#define FP_SOFTMAX_ACCUM_BITS 12 /* kAccumulationIntegerBits */

/* rows, depth >= 1, rows * depth <= INT32_MAX, inner >= 1 dividing rows. */
static inline int fp_softmax_geometry_ok(const fp_softmax_params_t *p)
{
    return p->rows >= 1 && p->depth >= 1 && (int64_t)p->rows * p->depth <= INT32_MAX
        && p->inner >= 1 && p->rows % p->inner == 0;
}

/* Flat index of element 0 of vector `r` of [outer, depth, inner]; element c
 * is `c * inner` further (all indices < rows * depth <= INT32_MAX). */
static inline int32_t fp_softmax_row_base(const fp_softmax_params_t *p, int32_t r)
{
    return (r / p->inner) * p->depth * p->inner + r % p->inner;
}

/* The geometry above, input_multiplier >= 0, input_left_shift in [0, 31],
 * diff_min <= 0. */
static inline int fp_softmax_s8_params_ok(const fp_softmax_params_t *p)
{
    return fp_softmax_geometry_ok(p)
        && p->input_multiplier >= 0 && p->input_left_shift >= 0 && p->input_left_shift <= 31
        && p->diff_min <= 0;
}

/* exp(diff * beta * input_scale) in Q0 for diff <= 0
 * (MultiplyByQuantizedMultiplierGreaterThanOne, then exp). */
static inline int32_t fp_softmax_s8_exp(int32_t diff, int32_t multiplier, int32_t left_shift)
{
    int32_t scaled = fp_srdhm(fp_sat_s32((int64_t)diff * ((int64_t)1 << left_shift)), multiplier);
    return fp_fx_exp_on_negative_values_q5(scaled);
}

/* Row maximum and the Q0 reciprocal of the row's sum of exps (Q12, summed in
 * int64 and saturated to int32): 1 / sum = *scale * 2^-(*num_bits_over_unit).
 * `in` points at the row's element 0; its elements are p->inner apart. */
static inline int32_t fp_softmax_s8_row_scale(const fp_softmax_params_t *p, const int8_t *in,
                                              int32_t *max_in_row, int32_t *num_bits_over_unit)
{
    int32_t c;
    int32_t max = FP_S8_MIN;
    int64_t sum = 0;
    for (c = 0; c < p->depth; ++c) {
        max = fp_max_s32(max, in[c * p->inner]);
    }
    for (c = 0; c < p->depth; ++c) {
        int32_t diff = in[c * p->inner] - max;
        if (diff >= p->diff_min) {
            /* Rescale<12>: Q0 -> Q12. */
            sum += fp_fx_mul_pot(fp_softmax_s8_exp(diff, p->input_multiplier, p->input_left_shift),
                                 -FP_SOFTMAX_ACCUM_BITS);
        }
    }
    *max_in_row = max;
    /* The row maximum has diff 0 >= diff_min and exp 1.0, so sum >= 2^19. */
    return fp_fx_reciprocal(fp_sat_s32(sum), FP_SOFTMAX_ACCUM_BITS, num_bits_over_unit);
}

#endif /* FP_SOFTMAX_S8_COMMON_H */
