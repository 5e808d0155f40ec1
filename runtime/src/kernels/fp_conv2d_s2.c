/*
 * fp_conv2d_s2 - int8 activations x packed 2-bit (ternary) weights 2-D convolution:
 * NHWC input, OHWI filter packed four per byte (fp_lowbit.h), int32 bias.
 * Each output channel's filter is unpacked into scratch once
 * (fp_conv2d_s2_scratch_size() = KH * KW * C_in/groups bytes, required).
 * Bit-identical to fp_conv2d_s8 run on the unpacked weights.
 *
 *   acc[b,oy,ox,oc] = bias[oc] + sum_{ky,kx,c} (x[b,iy,ix,g*Cg+c] + input_offset) * w[oc,ky,kx,c]
 *   iy = oy*stride_h - pad_top + ky*dilation_h (same for x), g = oc / (C_out/groups)
 * Taps outside the input are skipped: padding is real zero. The sum is exact
 * in int64 and saturated to int32 before requantization (TFLite assumes it
 * never overflows). Parameter ranges: docs/kernels.md.
 */
#include "fp_runtime.h"
#include "../internal/fp_lowbit.h"
#include "../internal/fp_conv_common.h"

fp_status_t fp_conv2d_s2(const fp_conv2d_params_t *params, const int8_t *input,
                         const int8_t *packed_filter, const int32_t *bias, int8_t *output,
                         void *scratch)
{
    fp_conv_geom_t g;
    int8_t *w;
    int32_t c_out;
    int32_t oc_per_group;
    int32_t filter_per_oc;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    if (params == NULL || input == NULL || packed_filter == NULL || output == NULL
        || !fp_conv2d_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                  INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (scratch == NULL) {
        return FP_ERR_SCRATCH;
    }
    g = fp_conv2d_geom(params);
    w = (int8_t *)scratch;
    c_out = params->output.c;
    oc_per_group = c_out / params->groups;
    filter_per_oc = params->filter.h * params->filter.w * params->filter.c;
    /* Output-channel outermost: each filter is unpacked once, then the int8
     * window sum of fp_conv2d_s8 runs on it. */
    for (oc = 0; oc < c_out; ++oc) {
        const int32_t c0 = (oc / oc_per_group) * params->filter.c;
        fp_int2_unpack(packed_filter, oc * filter_per_oc, filter_per_oc, w);
        for (b = 0; b < params->output.n; ++b) {
            for (oy = 0; oy < params->output.h; ++oy) {
                for (ox = 0; ox < params->output.w; ++ox) {
                    const fp_conv_window_t win = fp_conv_window(&g, oy, ox);
                    const int32_t o = ((b * params->output.h + oy) * params->output.w + ox) * c_out + oc;
                    const int64_t acc = fp_conv2d_window_sum_s8(&g, &win, input, w, params->filter.c,
                                                                b, c0, params->input_offset);
                    output[o] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &params->requant,
                                                         params->output_offset, params->act_min,
                                                         params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
