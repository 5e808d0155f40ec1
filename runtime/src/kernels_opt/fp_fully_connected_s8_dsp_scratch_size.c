/* fp_fully_connected_s8_dsp_scratch_size - fp_fully_connected_s8_dsp needs no
 * scratch on any target (the reference it forwards to needs none either). */
#include "fp_runtime.h"

size_t fp_fully_connected_s8_dsp_scratch_size(const fp_fully_connected_params_t *params)
{
    (void)params;
    return 0;
}
