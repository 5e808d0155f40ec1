/*
 * fp_depthwise_conv2d_s8_dsp_fast_scratch_size - scratch of
 * fp_depthwise_conv2d_s8_dsp_fast: that of fp_depthwise_conv2d_s8_dsp, whose
 * fast path it is (computed here too, so that the fast entry links nothing of
 * the general one).
 */
#include "fp_runtime.h"
#include "../internal/fp_dsp.h"

size_t fp_depthwise_conv2d_s8_dsp_fast_scratch_size(const fp_depthwise_conv2d_params_t *params)
{
    return fp_dsp_depthwise_scratch_bytes(params);
}
