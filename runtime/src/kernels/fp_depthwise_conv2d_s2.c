/*
 * fp_depthwise_conv2d_s2 - int8 activations x packed 2-bit (ternary) weights depthwise
 * convolution: NHWC input, filter [1, KH, KW, C_out] packed four per byte
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
#include "../internal/fp_packed_weights.h"

fp_status_t fp_depthwise_conv2d_s2(const fp_depthwise_conv2d_params_t *params,
                                   const int8_t *input, const int8_t *packed_filter,
                                   const int32_t *bias, int8_t *output, void *scratch)
{
    (void)scratch; /* fp_depthwise_conv2d_s2_scratch_size() is 0 */
    return fp_depthwise_conv2d_packed(params, input, packed_filter, bias, output, fp_int2_get);
}
