/*
 * fp_depthwise_conv2d_s1 - int8 activations x packed 1-bit (binary, +-1) weights depthwise
 * convolution: NHWC input, filter [1, KH, KW, C_out] packed eight per byte
 * (fp_lowbit.h), int32 bias, C_out = C_in * depth_multiplier. Weights are
 * unpacked on the fly (no scratch). Bit-identical to fp_depthwise_conv2d_s8
 * run on the unpacked weights.
 *
 *   acc[b,oy,ox,oc] = bias[oc] + sum_{ky,kx} (x[b,iy,ix,ic] + input_offset) * w[ky,kx,oc]
 *   oc = ic * depth_multiplier + m, iy = oy*stride_h - pad_top + ky*dilation_h
 * Taps outside the input are skipped: padding is real zero. The sum is exact
 * in int64 and saturated to int32 before requantization. Parameter ranges:
 * docs/kernels.md.
 */
#include "fp_runtime.h"
#include "../internal/fp_lowbit.h"
#include "../internal/fp_conv_common.h"

/* Exact sum over the window of batch b for output channel oc, which reads
 * input channel ic. One term per tap, so the blocked 32-bit partial sum of
 * fp_mac_dot_s8 is applied along each window row: fp_mac_block_s8(input_offset)
 * taps fit int32; exact int64 across blocks and rows. */
static int64_t window_sum(const fp_conv_geom_t *g, const fp_conv_window_t *win,
                          const int8_t *input, const int8_t *packed_filter, int32_t c_out, int32_t b,
                          int32_t ic, int32_t oc, int32_t input_offset)
{
    const int32_t block = fp_mac_block_s8(input_offset);
    int64_t acc = 0;
    int32_t ky;
    for (ky = win->ky0; ky < win->ky1; ++ky) {
        const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
        const int8_t *x_row = input + (b * g->in_h + iy) * g->in_w * g->in_c + ic;
        int32_t kx = win->kx0;
        while (kx < win->kx1) {
            const int32_t end = win->kx1 - kx > block ? kx + block : win->kx1;
            int32_t part = 0;
            for (; kx < end; ++kx) {
                const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
                part += (x_row[ix * g->in_c] + input_offset) * (int32_t)fp_int1_get(packed_filter, (ky * g->k_w + kx) * c_out + oc);
            }
            acc += part;
        }
    }
    return acc;
}

fp_status_t fp_depthwise_conv2d_s1(const fp_depthwise_conv2d_params_t *params,
                                   const int8_t *input, const int8_t *packed_filter,
                                   const int32_t *bias, int8_t *output, void *scratch)
{
    fp_conv_geom_t g;
    int32_t c_out;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    (void)scratch; /* fp_depthwise_conv2d_s1_scratch_size() is 0 */
    if (params == NULL || input == NULL || packed_filter == NULL || output == NULL
        || !fp_depthwise_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                  INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    g = fp_depthwise_geom(params);
    c_out = params->output.c;
    for (b = 0; b < params->output.n; ++b) {
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&g, oy, ox);
                int8_t *out = output + ((b * params->output.h + oy) * params->output.w + ox) * c_out;
                for (oc = 0; oc < c_out; ++oc) {
                    const int32_t ic = oc / params->depth_multiplier;
                    const int64_t acc = window_sum(&g, &win, input, packed_filter, c_out, b, ic, oc,
                                                   params->input_offset);
                    out[oc] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &params->requant,
                                                       params->output_offset, params->act_min,
                                                       params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
