/*
 * fp_transpose_conv2d_s8 - int8 transposed 2-D convolution (TFLite
 * TRANSPOSE_CONV, ONNX ConvTranspose, any groups): NHWC input, OHWI filter,
 * int32 bias (or NULL), per-channel requantization.
 *
 *   acc[b,oy,ox,oc] = bias[oc] + sum (x[b,iy,ix,c0+c] + input_offset) * w[oc,ky,kx,c]
 *                     over oy + pad_top = iy*stride_h + ky*dilation_h (same for x),
 *                     c < C_in/groups, c0 = (oc / (C_out/groups)) * C_in/groups
 * exact in int64, saturated to int32, then requantized (internal/fp_transpose_conv.h).
 */
#include "fp_runtime.h"
#include "../internal/fp_transpose_conv.h"

fp_status_t fp_transpose_conv2d_s8(const fp_transpose_conv2d_params_t *params, const int8_t *input,
                                   const int8_t *filter, const int32_t *bias, int8_t *output,
                                   void *scratch)
{
    fp_conv_geom_t g;
    int32_t b, oy, ox, oc, per_oc;
    int8_t *out = output;
    (void)scratch; /* fp_transpose_conv2d_s8_scratch_size() is 0 */
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_transpose_conv2d_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                          INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    g = fp_transpose_conv_geom(params);
    per_oc = params->filter.h * params->filter.w * params->filter.c;
    for (b = 0; b < params->output.n; ++b) {
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                for (oc = 0; oc < params->output.c; ++oc) {
                    const int64_t acc = fp_transpose_conv_sum_s8(&g, input, filter + oc * per_oc, b, oy, ox,
                                                                 fp_transpose_conv_c0(params, oc), params->filter.c,
                                                                 params->input_offset);
                    *out++ = (int8_t)fp_mac_out_acc32(acc, bias, oc, &params->requant, params->output_offset,
                                                      params->act_min, params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
