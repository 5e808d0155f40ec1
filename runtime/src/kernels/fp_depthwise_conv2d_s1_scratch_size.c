/* fp_depthwise_conv2d_s1_scratch_size - 1-bit weights are unpacked on the fly: no scratch. */
#include "fp_runtime.h"

size_t fp_depthwise_conv2d_s1_scratch_size(const fp_depthwise_conv2d_params_t *params)
{
    (void)params;
    return 0;
}
