/*
 * fp_fully_connected_s8_dsp_fast_scratch_size - fp_fully_connected_s8_dsp_fast
 * takes no scratch: 0.
 */
#include "fp_runtime.h"

size_t fp_fully_connected_s8_dsp_fast_scratch_size(const fp_fully_connected_params_t *params)
{
    (void)params;
    return 0;
}
