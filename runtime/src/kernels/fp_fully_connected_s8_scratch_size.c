/* fp_fully_connected_s8_scratch_size - no scratch needed. */
#include "fp_runtime.h"

size_t fp_fully_connected_s8_scratch_size(const fp_fully_connected_params_t *params)
{
    (void)params;
    return 0;
}
