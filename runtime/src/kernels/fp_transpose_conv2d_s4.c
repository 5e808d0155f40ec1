/*
 * fp_transpose_conv2d_s4 - int8 activations x packed int4 weights transposed
 * 2-D convolution: the OHWI filter packed two per byte (fp_int4.h); each
 * output channel's filter is unpacked into scratch once
 * (fp_transpose_conv2d_s4_scratch_size() = KH * KW * C_in / groups bytes, required).
 * Bit-identical to fp_transpose_conv2d_s8 run on the unpacked weights.
 */
#include "fp_runtime.h"
#include "../internal/fp_int4.h"
#include "../internal/fp_transpose_conv.h"

fp_status_t fp_transpose_conv2d_s4(const fp_transpose_conv2d_params_t *params, const int8_t *input,
                                   const int8_t *packed_filter, const int32_t *bias, int8_t *output,
                                   void *scratch)
{
    fp_conv_geom_t g;
    int8_t *w;
    int32_t b, oy, ox, oc, per_oc;
    if (params == NULL || input == NULL || packed_filter == NULL || output == NULL
        || !fp_transpose_conv2d_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                          INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (scratch == NULL) {
        return FP_ERR_SCRATCH;
    }
    g = fp_transpose_conv_geom(params);
    w = (int8_t *)scratch;
    per_oc = params->filter.h * params->filter.w * params->filter.c;
    for (oc = 0; oc < params->output.c; ++oc) {
        const int32_t c0 = fp_transpose_conv_c0(params, oc);
        fp_int4_unpack(packed_filter, oc * per_oc, per_oc, w);
        for (b = 0; b < params->output.n; ++b) {
            for (oy = 0; oy < params->output.h; ++oy) {
                for (ox = 0; ox < params->output.w; ++ox) {
                    const int32_t o = ((b * params->output.h + oy) * params->output.w + ox) * params->output.c + oc;
                    const int64_t acc = fp_transpose_conv_sum_s8(&g, input, w, b, oy, ox, c0, params->filter.c,
                                                                 params->input_offset);
                    output[o] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &params->requant, params->output_offset,
                                                         params->act_min, params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
