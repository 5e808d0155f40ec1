/*
 * fp_conv2d_s1 - int8 activations x packed 1-bit (binary, +-1) weights 2-D convolution:
 * NHWC input, OHWI filter packed eight per byte (fp_lowbit.h), int32 bias.
 * Each output channel's filter is unpacked into scratch once
 * (fp_conv2d_s1_scratch_size() = KH * KW * C_in/groups bytes, required).
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
#include "../internal/fp_packed_weights.h"

fp_status_t fp_conv2d_s1(const fp_conv2d_params_t *params, const int8_t *input,
                         const int8_t *packed_filter, const int32_t *bias, int8_t *output,
                         void *scratch)
{
    return fp_conv2d_packed(params, input, packed_filter, bias, output, scratch, fp_int1_unpack);
}
