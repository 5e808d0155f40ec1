/* fp_fully_connected_s8_dsp_scratch_size - fp_fully_connected_s8_dsp needs no
 * scratch; without the DSP extension it is the reference's size (also 0). */
#include "fp_runtime.h"

size_t fp_fully_connected_s8_dsp_scratch_size(const fp_fully_connected_params_t *params)
{
    return fp_fully_connected_s8_scratch_size(params);
}
