/*
 * fp_depthwise_conv2d_s8_mve_scratch_size - scratch of
 * fp_depthwise_conv2d_s8_mve (dims only, the same on every target): for
 * depth multiplier 1 the channel table (fp_mve_table_bytes of C_out) and 15
 * bytes to align it to 16; 0 for other depth multipliers or windows too
 * long for int32 sums (the reference path).
 */
#include "fp_runtime.h"
#include "../internal/fp_mve.h"

size_t fp_depthwise_conv2d_s8_mve_scratch_size(const fp_depthwise_conv2d_params_t *params)
{
    if (params == NULL || params->depth_multiplier != 1 || params->filter.h <= 0
        || params->filter.w <= 0 || params->filter.c <= 0
        || !fp_dsp_terms_ok(0, (int64_t)params->filter.h * params->filter.w)) {
        return 0;
    }
    return 15 + fp_mve_table_bytes(params->filter.c);
}
