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
    return fp_dsp_depthwise_scratch_bytes(params); /* dims only, as every *_scratch_size */
}
