/*
 * fp_fully_connected_s16_acc32 - int16 x int8 fully connected with an int32
 * bias (or none) and 32-bit requantization: TFLite's 16x8 fully connected
 * when the bias tensor is int32 or absent (the int64 bias path is
 * fp_fully_connected_s16).
 *
 *   acc[b,oc] = bias[oc] + sum_d x[b,d] * (w[oc,d] + filter_offset)
 *   out = clamp(requant32(sat32(acc), multiplier, shift), act_min, act_max)
 * input_offset and output_offset must be 0. The sum is exact in int64 and
 * saturated to int32 before requantization (TFLite assumes the int32 sum
 * never overflows). Parameter ranges: docs/kernels.md.
 */
#include "fp_runtime.h"
#include "../internal/fp_fc_common.h"

fp_status_t fp_fully_connected_s16_acc32(const fp_fully_connected_params_t *params,
                                         const int16_t *input, const int8_t *filter,
                                         const int32_t *bias, int16_t *output, void *scratch)
{
    int32_t depth;
    int32_t c_out;
    int32_t b;
    int32_t oc;
    (void)scratch; /* fp_fully_connected_s16_acc32_scratch_size() is 0 */
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_fc_params_ok(params, 0, 0, 0, 0, INT16_MIN, INT16_MAX, 0)) {
        return FP_ERR_ARG;
    }
    depth = params->depth;
    c_out = params->out_channels;
    for (b = 0; b < params->batches; ++b) {
        const int16_t *x = input + b * depth;
        int16_t *out = output + b * c_out;
        for (oc = 0; oc < c_out; ++oc) {
            const int64_t acc = fp_fc_dot_s16(x, filter + oc * depth, depth, params->filter_offset);
            out[oc] = (int16_t)fp_mac_out_acc32(acc, bias, oc, &params->requant, 0,
                                                params->act_min, params->act_max);
        }
    }
    return FP_OK;
}
