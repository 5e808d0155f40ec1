/*
 * fp_fully_connected_s1 - int8 activations x packed 1-bit (binary, +-1) weights fully
 * connected: input [batches, depth], filter [C_out, depth] packed eight per byte
 * over the flattened tensor (fp_lowbit.h), int32 bias. Weights are unpacked on
 * the fly (no scratch). Bit-identical to fp_fully_connected_s8 run on the
 * unpacked weights.
 *
 *   acc[b,oc] = bias[oc] + sum_d (x[b,d] + input_offset) * (w[oc,d] + filter_offset)
 * The sum is exact in int64 and saturated to int32 before requantization.
 * Parameter ranges: docs/kernels.md.
 */
#include "fp_runtime.h"
#include "../internal/fp_lowbit.h"
#include "../internal/fp_fc_common.h"

fp_status_t fp_fully_connected_s1(const fp_fully_connected_params_t *params,
                                  const int8_t *input, const int8_t *packed_filter,
                                  const int32_t *bias, int8_t *output, void *scratch)
{
    int32_t depth;
    int32_t c_out;
    int32_t in_off;
    int32_t f_off;
    int32_t b;
    int32_t oc;
    (void)scratch; /* fp_fully_connected_s1_scratch_size() is 0 */
    if (params == NULL || input == NULL || packed_filter == NULL || output == NULL
        || !fp_fc_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                  INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    depth = params->depth;
    c_out = params->out_channels;
    in_off = params->input_offset;
    f_off = params->filter_offset;
    for (b = 0; b < params->batches; ++b) {
        const int8_t *x = input + b * depth;
        int8_t *out = output + b * c_out;
        for (oc = 0; oc < c_out; ++oc) {
            const int32_t w0 = oc * depth;
            int64_t acc = 0;
            int32_t d;
            /* each term fits int32 (fp_fc_params_ok); summed in int64, not in
             * the blocked int32 partial sum, since with a filter offset the
             * terms exceed the bound fp_mac_block_s8 assumes. */
            for (d = 0; d < depth; ++d) {
                const int32_t w = (int32_t)fp_int1_get(packed_filter, w0 + d) + f_off;
                acc += ((int32_t)x[d] + in_off) * w;
            }
            out[oc] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &params->requant,
                                               params->output_offset, params->act_min,
                                               params->act_max);
        }
    }
    return FP_OK;
}
