/*
 * fp_softmax_s8_s16 - softmax over one axis of [outer, depth, inner], int8 in,
 * int16 out with scale 1/65536 and zero point -32768: TFLite's reference
 * quantized Softmax for an int8 input and an int16 output (TFLite requires
 * exactly that output quantization for this type pair).
 *
 * Identical to fp_softmax_s8 up to the last step (same parameters, same exp,
 * same reciprocal of the sum): the Q0 probability is divided by 2^(31 - 16)
 * instead of 2^(31 - 8), then offset by -32768 and clamped to int16; taps
 * with diff < diff_min output -32768. Same deviations as fp_softmax_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_softmax_s8_common.h"

fp_status_t fp_softmax_s8_s16(const fp_softmax_params_t *params, const int8_t *input,
                              int16_t *output)
{
    int32_t r, c;
    if (params == NULL || input == NULL || output == NULL || !fp_softmax_s8_params_ok(params)) {
        return FP_ERR_ARG;
    }
    for (r = 0; r < params->rows; ++r) {
        const int32_t base = fp_softmax_row_base(params, r);
        const int8_t *in = input + base;
        int16_t *out = output + base;
        int32_t max_in_row;
        int32_t num_bits_over_unit;
        const int32_t scale = fp_softmax_s8_row_scale(params, in, &max_in_row, &num_bits_over_unit);
        for (c = 0; c < params->depth; ++c) {
            int32_t diff = in[c * params->inner] - max_in_row;
            int32_t value = FP_S16_MIN;
            if (diff >= params->diff_min) {
                int32_t e = fp_softmax_s8_exp(diff, params->input_multiplier,
                                              params->input_left_shift);
                /* Q0 probability -> units of 1/65536: divide by 2^(31 - 16). */
                value = fp_rdbpot(fp_srdhm(scale, e), num_bits_over_unit + 31 - 16) + FP_S16_MIN;
            }
            out[c * params->inner] = (int16_t)fp_clamp_s32(value, FP_S16_MIN, FP_S16_MAX);
        }
    }
    return FP_OK;
}
