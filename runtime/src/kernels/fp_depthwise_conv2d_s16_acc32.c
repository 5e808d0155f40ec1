/*
 * fp_depthwise_conv2d_s16_acc32 - int16 x int8 depthwise convolution with an
 * int32 bias (or none) and 32-bit requantization: TFLite's 16x8 depthwise
 * convolution when the bias tensor is int32 or absent (the int64 bias path is
 * fp_depthwise_conv2d_s16).
 *
 *   acc[b,oy,ox,oc] = bias[oc] + sum_{ky,kx} x[b,iy,ix,ic] * w[ky,kx,oc]
 *   out = clamp(requant32(sat32(acc), multiplier, shift), act_min, act_max)
 * Same geometry as fp_depthwise_conv2d_s16; input_offset and output_offset
 * must be 0. The sum is exact in int64 and saturated to int32 before
 * requantization (TFLite assumes the int32 sum never overflows). Parameter
 * ranges: docs/kernels.md.
 */
#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"

fp_status_t fp_depthwise_conv2d_s16_acc32(const fp_depthwise_conv2d_params_t *params,
                                          const int16_t *input, const int8_t *filter,
                                          const int32_t *bias, int16_t *output, void *scratch)
{
    fp_conv_geom_t g;
    int32_t c_out;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    (void)scratch; /* fp_depthwise_conv2d_s16_acc32_scratch_size() is 0 */
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_depthwise_params_ok(params, 0, 0, 0, 0, INT16_MIN, INT16_MAX, 0)) {
        return FP_ERR_ARG;
    }
    g = fp_depthwise_geom(params);
    c_out = params->output.c;
    for (b = 0; b < params->output.n; ++b) {
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&g, oy, ox);
                int16_t *out = output + ((b * params->output.h + oy) * params->output.w + ox) * c_out;
                for (oc = 0; oc < c_out; ++oc) {
                    const int32_t ic = oc / params->depth_multiplier;
                    const int64_t acc = fp_depthwise_window_sum_s16(&g, &win, input, filter, c_out,
                                                                    b, ic, oc);
                    out[oc] = (int16_t)fp_mac_out_acc32(acc, bias, oc, &params->requant, 0,
                                                        params->act_min, params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
