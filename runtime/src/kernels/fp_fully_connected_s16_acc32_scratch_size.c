/* fp_fully_connected_s16_acc32_scratch_size - the kernel needs no scratch. */
#include "fp_runtime.h"

size_t fp_fully_connected_s16_acc32_scratch_size(const fp_fully_connected_params_t *params)
{
    (void)params;
    return 0;
}
