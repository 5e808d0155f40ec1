/*
 * fp_depthwise_conv2d_s8_dsp_scratch_size - scratch of
 * fp_depthwise_conv2d_s8_dsp: the weights of the channels handled four at a
 * time (depth multiplier 1: C_out rounded down to 4), unpacked to int16
 * (2 bytes per weight), their epilogue constants (16 bytes per channel),
 * plus 3 bytes to align the start to 4; 0 when the
 * call takes the reference path or has no such channels. The same on every target:
 * the host sizes a board's scratch.
 */
#include "fp_runtime.h"
#include "../internal/fp_dsp.h"

size_t fp_depthwise_conv2d_s8_dsp_scratch_size(const fp_depthwise_conv2d_params_t *params)
{
    int64_t taps;
    int64_t c4;
    if (params == NULL || params->filter.h <= 0 || params->filter.w <= 0
        || params->output.c <= 0 || params->depth_multiplier != 1) {
        return 0;
    }
    taps = (int64_t)params->filter.h * params->filter.w;
    c4 = params->output.c & ~(int32_t)3;
    if (c4 == 0 || !fp_dsp_terms_ok(0, taps)) { /* dims only, as every *_scratch_size */
        return 0;
    }
    return (size_t)(2 * c4 * taps + 16 * c4 + 3);
}
