/*
 * fp_conv2d_s8_dsp_scratch_size - scratch of fp_conv2d_s8_dsp (dims only, as
 * every *_scratch_size), or 0 when the call always takes the reference path
 * (a window too long for int32 partial sums); the same on every target, since the host sizes a board's scratch. With
 * k = filter h * w * c terms per output: two
 * interleaved packed im2col columns (16 bytes per group of 4 terms, 8 per
 * tail term), one int8 window (k rounded up to 4 bytes) and 3 bytes to align
 * the start to 4.
 */
#include "fp_runtime.h"
#include "../internal/fp_dsp.h"

size_t fp_conv2d_s8_dsp_scratch_size(const fp_conv2d_params_t *params)
{
    return fp_dsp_conv2d_scratch_bytes(params);
}
