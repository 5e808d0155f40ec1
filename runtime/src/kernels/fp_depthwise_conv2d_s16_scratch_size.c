/* fp_depthwise_conv2d_s16_scratch_size - no scratch needed. */
#include "fp_runtime.h"

size_t fp_depthwise_conv2d_s16_scratch_size(const fp_depthwise_conv2d_params_t *params)
{
    (void)params;
    return 0;
}
