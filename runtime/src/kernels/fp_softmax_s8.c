/*
 * fp_softmax_s8 - softmax over the last dim of [rows, depth], int8 in, int8 out
 * (scale 1/256, zero point -128): TFLite's reference quantized Softmax, the
 * same arithmetic as CMSIS-NN arm_softmax_s8.
 *
 * Per row: diff = x - max(row); taps with diff < diff_min contribute nothing
 * and output -128. The others are scaled to Q5 by input_multiplier /
 * input_left_shift, exponentiated in Q0 (gemmlowp exp_on_negative_values),
 * summed in Q12, and multiplied by the Q0 reciprocal of the sum.
 * Deviation from TFLite, only where TFLite overflows: the sum of exps is
 * accumulated in int64 and saturated to int32 (rows of more than 4095 maximal
 * entries), and diff * 2^input_left_shift saturates to int32.
 */
#include "fp_runtime.h"
#include "../internal/fp_fixedpoint.h"
#include "../internal/fp_misc_check.h"

#define FP_SOFTMAX_ACCUM_BITS 12 /* kAccumulationIntegerBits */

/* exp(diff * beta * input_scale) in Q0 for diff <= 0
 * (MultiplyByQuantizedMultiplierGreaterThanOne, then exp). */
static int32_t fp_softmax_s8_exp(int32_t diff, int32_t multiplier, int32_t left_shift)
{
    int32_t scaled = fp_srdhm(fp_sat_s32((int64_t)diff * ((int64_t)1 << left_shift)), multiplier);
    return fp_fx_exp_on_negative_values_q5(scaled);
}

fp_status_t fp_softmax_s8(const fp_softmax_params_t *params, const int8_t *input, int8_t *output)
{
    int32_t r, c;
    if (params == NULL || input == NULL || output == NULL || params->rows < 1 ||
        params->depth < 1 || (int64_t)params->rows * params->depth > INT32_MAX ||
        params->input_multiplier < 0 || params->input_left_shift < 0 ||
        params->input_left_shift > 31 || params->diff_min > 0) {
        return FP_ERR_ARG;
    }
    for (r = 0; r < params->rows; ++r) {
        const int8_t *in = input + r * params->depth;
        int8_t *out = output + r * params->depth;
        int32_t max_in_row = FP_S8_MIN;
        int64_t sum = 0;
        int32_t num_bits_over_unit;
        int32_t scale;
        for (c = 0; c < params->depth; ++c) {
            max_in_row = fp_max_s32(max_in_row, in[c]);
        }
        for (c = 0; c < params->depth; ++c) {
            int32_t diff = in[c] - max_in_row;
            if (diff >= params->diff_min) {
                /* Rescale<12>: Q0 -> Q12. */
                sum += fp_fx_mul_pot(fp_softmax_s8_exp(diff, params->input_multiplier,
                                                       params->input_left_shift),
                                     -FP_SOFTMAX_ACCUM_BITS);
            }
        }
        /* The row maximum has diff 0 >= diff_min and exp 1.0, so sum >= 2^19. */
        scale = fp_fx_reciprocal(fp_sat_s32(sum), FP_SOFTMAX_ACCUM_BITS, &num_bits_over_unit);
        for (c = 0; c < params->depth; ++c) {
            int32_t diff = in[c] - max_in_row;
            int32_t value = FP_S8_MIN;
            if (diff >= params->diff_min) {
                int32_t e = fp_softmax_s8_exp(diff, params->input_multiplier,
                                              params->input_left_shift);
                /* Q0 probability -> units of 1/256: divide by 2^(31 - 8). */
                value = fp_rdbpot(fp_srdhm(scale, e), num_bits_over_unit + 31 - 8) + FP_S8_MIN;
            }
            out[c] = (int8_t)fp_clamp_s32(value, FP_S8_MIN, FP_S8_MAX);
        }
    }
    return FP_OK;
}
