/* fp_depthwise_conv2d_s8_opt_scratch_size - the optimized int8 kernel needs no scratch
 * (its working buffers are small and on the stack). */
#include "fp_runtime.h"

size_t fp_depthwise_conv2d_s8_opt_scratch_size(const fp_depthwise_conv2d_params_t *params)
{
    (void)params;
    return 0;
}
