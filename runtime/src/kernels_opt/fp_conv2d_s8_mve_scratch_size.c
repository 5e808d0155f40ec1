/*
 * fp_conv2d_s8_mve_scratch_size - scratch of fp_conv2d_s8_mve (dims only, the
 * same on every target: the host sizes a board's scratch), or 0 when the
 * call always takes the reference path (a window too long for int32 sums).
 * With K = filter h * w * c terms per output and C_out channels: the channel
 * table (fp_mve_table_bytes), one int32 sum per channel (C_out rounded up to
 * 4), one int8 im2col column (K rounded up to 16) and 15 bytes to align the
 * start to 16.
 */
#include "fp_runtime.h"
#include "../internal/fp_mve.h"

size_t fp_conv2d_s8_mve_scratch_size(const fp_conv2d_params_t *params)
{
    int64_t k;
    int64_t c_out;
    if (params == NULL || params->filter.h <= 0 || params->filter.w <= 0
        || params->filter.c <= 0 || params->filter.n <= 0) {
        return 0;
    }
    k = (int64_t)params->filter.h * params->filter.w * params->filter.c;
    c_out = params->filter.n;
    if (!fp_dsp_terms_ok(0, k)) {
        return 0;
    }
    return 15 + fp_mve_table_bytes(c_out) + (size_t)(4 * ((c_out + 3) & ~(int64_t)3))
         + (size_t)((k + 15) & ~(int64_t)15);
}
