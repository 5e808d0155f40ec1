/*
 * fp_fully_connected_s16 - int16 x int8 fully connected (TFLite 16x8): input
 * [batches, depth] with zero point 0, filter [C_out, depth] int8, int64 bias,
 * int64 accumulator.
 *
 *   acc[b,oc] = bias[oc] + sum_d x[b,d] * (w[oc,d] + filter_offset)
 * input_offset and output_offset must be 0. The sum is exact (|sum| < 2^54);
 * the bias is first clamped to +-2^62, which cannot change the result because
 * fp_requant64 saturates the accumulator to [-2^47, 2^47). Parameter ranges:
 * docs/kernels.md.
 */
#include "fp_runtime.h"
#include "../internal/fp_fc_common.h"

fp_status_t fp_fully_connected_s16(const fp_fully_connected_params_t *params,
                                   const int16_t *input, const int8_t *filter,
                                   const int64_t *bias, int16_t *output, void *scratch)
{
    int32_t depth;
    int32_t c_out;
    int32_t f_off;
    int32_t b;
    int32_t oc;
    (void)scratch; /* fp_fully_connected_s16_scratch_size() is 0 */
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_fc_params_ok(params, 0, 0, 0, 0, INT16_MIN, INT16_MAX, 1)) {
        return FP_ERR_ARG;
    }
    depth = params->depth;
    c_out = params->out_channels;
    f_off = params->filter_offset;
    for (b = 0; b < params->batches; ++b) {
        const int16_t *x = input + b * depth;
        int16_t *out = output + b * c_out;
        for (oc = 0; oc < c_out; ++oc) {
            const int64_t acc = fp_fc_dot_s16(x, filter + oc * depth, depth, f_off);
            out[oc] = (int16_t)fp_mac_out_acc64(acc, bias, oc, &params->requant,
                                                params->act_min, params->act_max);
        }
    }
    return FP_OK;
}
