/*
 * fp_transpose_conv2d_s16 - int16 x int8 transposed 2-D convolution (TFLite's
 * 16x8 TRANSPOSE_CONV with an int64 bias or NULL): the sums of
 * fp_transpose_conv2d_s8 without offsets (zero point 0), exact in int64, then
 * the 64-bit requantization of fp_mac_out_acc64 (internal/fp_mac_common.h).
 */
#include "fp_runtime.h"
#include "../internal/fp_transpose_conv.h"

fp_status_t fp_transpose_conv2d_s16(const fp_transpose_conv2d_params_t *params, const int16_t *input,
                                    const int8_t *filter, const int64_t *bias, int16_t *output,
                                    void *scratch)
{
    fp_conv_geom_t g;
    int32_t b, oy, ox, oc, per_oc;
    int16_t *out = output;
    (void)scratch; /* fp_transpose_conv2d_s16_scratch_size() is 0 */
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_transpose_conv2d_params_ok(params, 0, 0, 0, 0, INT16_MIN, INT16_MAX, 1)) {
        return FP_ERR_ARG;
    }
    g = fp_transpose_conv_geom(params);
    per_oc = params->filter.h * params->filter.w * params->filter.c;
    for (b = 0; b < params->output.n; ++b) {
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                for (oc = 0; oc < params->output.c; ++oc) {
                    const int64_t acc = fp_transpose_conv_sum_s16(&g, input, filter + oc * per_oc, b, oy, ox,
                                                                  fp_transpose_conv_c0(params, oc), params->filter.c);
                    *out++ = (int16_t)fp_mac_out_acc64(acc, bias, oc, &params->requant, params->act_min,
                                                       params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
