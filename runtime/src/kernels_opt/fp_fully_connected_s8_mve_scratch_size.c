/*
 * fp_fully_connected_s8_mve_scratch_size - scratch of
 * fp_fully_connected_s8_mve (dims only, the same on every target): the
 * channel table (fp_mve_table_bytes), one int32 sum per output channel
 * (rounded up to 4; batches after the first) and 15 bytes to align the
 * start to 16; 0 when the call
 * always takes the reference path (a depth too long for int32 sums).
 */
#include "fp_runtime.h"
#include "../internal/fp_mve.h"

size_t fp_fully_connected_s8_mve_scratch_size(const fp_fully_connected_params_t *params)
{
    int64_t c_out;
    if (params == NULL || params->out_channels <= 0 || params->depth <= 0
        || !fp_dsp_terms_ok(0, params->depth)) {
        return 0;
    }
    c_out = params->out_channels;
    return 15 + fp_mve_table_bytes(c_out) + (size_t)(4 * ((c_out + 3) & ~(int64_t)3));
}
