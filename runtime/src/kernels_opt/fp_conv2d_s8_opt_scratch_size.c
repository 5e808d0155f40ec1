/* fp_conv2d_s8_opt_scratch_size - the optimized int8 kernel needs no scratch
 * (the host path transposes the filter into a stack buffer; MCU builds read it
 * in place), so 0 for every layer and every target. */
#include "fp_runtime.h"

size_t fp_conv2d_s8_opt_scratch_size(const fp_conv2d_params_t *params)
{
    (void)params;
    return 0;
}
