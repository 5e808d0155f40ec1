/*
 * fp_depthwise_conv2d_s16 - int16 x int8 depthwise convolution (TFLite 16x8):
 * NHWC input with zero point 0, filter [1, KH, KW, C_out] int8, int64 bias,
 * int64 accumulator, C_out = C_in * depth_multiplier.
 *
 *   acc[b,oy,ox,oc] = bias[oc] + sum_{ky,kx} x[b,iy,ix,ic] * w[ky,kx,oc]
 *   oc = ic * depth_multiplier + m, iy = oy*stride_h - pad_top + ky*dilation_h
 * Taps outside the input are skipped. input_offset and output_offset must be
 * 0. The sum is exact (|sum| < 2^54); the bias is first clamped to +-2^62,
 * which cannot change the result because fp_requant64 saturates the
 * accumulator to [-2^47, 2^47). Parameter ranges: docs/kernels.md.
 */
#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"

/* Exact sum over the window of batch b for output channel oc, which reads
 * input channel ic (int16 counterpart of the s8 loop; int64 per term). */
static int64_t window_sum(const fp_conv_geom_t *g, const fp_conv_window_t *win,
                          const int16_t *input, const int8_t *filter, int32_t c_out, int32_t b,
                          int32_t ic, int32_t oc)
{
    int64_t acc = 0;
    int32_t ky;
    int32_t kx;
    for (ky = win->ky0; ky < win->ky1; ++ky) {
        const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
        const int16_t *x_row = input + (b * g->in_h + iy) * g->in_w * g->in_c + ic;
        for (kx = win->kx0; kx < win->kx1; ++kx) {
            const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
            acc += (int32_t)x_row[ix * g->in_c] * (int32_t)filter[(ky * g->k_w + kx) * c_out + oc];
        }
    }
    return acc;
}

fp_status_t fp_depthwise_conv2d_s16(const fp_depthwise_conv2d_params_t *params,
                                    const int16_t *input, const int8_t *filter,
                                    const int64_t *bias, int16_t *output, void *scratch)
{
    fp_conv_geom_t g;
    int32_t c_out;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    (void)scratch; /* fp_depthwise_conv2d_s16_scratch_size() is 0 */
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_depthwise_params_ok(params, 0, 0, 0, 0, INT16_MIN, INT16_MAX, 1)) {
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
                    const int64_t acc = window_sum(&g, &win, input, filter, c_out, b, ic, oc);
                    out[oc] = (int16_t)fp_mac_out_acc64(acc, bias, oc, &params->requant,
                                                        params->act_min, params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
