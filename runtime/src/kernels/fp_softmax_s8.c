/*
 * fp_softmax_s8 - softmax over one axis of [outer, depth, inner] (fp_softmax_params_t),
 * int8 in, int8 out
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
#include "../internal/fp_softmax_s8_common.h"

fp_status_t fp_softmax_s8(const fp_softmax_params_t *params, const int8_t *input, int8_t *output)
{
    int32_t r, c;
    if (params == NULL || input == NULL || output == NULL || !fp_softmax_s8_params_ok(params)) {
        return FP_ERR_ARG;
    }
    for (r = 0; r < params->rows; ++r) {
        const int32_t base = fp_softmax_row_base(params, r);
        const int8_t *in = input + base;
        int8_t *out = output + base;
        int32_t max_in_row;
        int32_t num_bits_over_unit;
        const int32_t scale = fp_softmax_s8_row_scale(params, in, &max_in_row, &num_bits_over_unit);
        for (c = 0; c < params->depth; ++c) {
            int32_t diff = in[c * params->inner] - max_in_row;
            int32_t value = FP_S8_MIN;
            if (diff >= params->diff_min) {
                int32_t e = fp_softmax_s8_exp(diff, params->input_multiplier,
                                              params->input_left_shift);
                /* Q0 probability -> units of 1/256: divide by 2^(31 - 8). */
                value = fp_rdbpot(fp_srdhm(scale, e), num_bits_over_unit + 31 - 8) + FP_S8_MIN;
            }
            out[c * params->inner] = (int8_t)fp_clamp_s32(value, FP_S8_MIN, FP_S8_MAX);
        }
    }
    return FP_OK;
}
