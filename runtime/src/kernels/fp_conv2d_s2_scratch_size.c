/* fp_conv2d_s2_scratch_size - bytes to unpack one output channel's 2-bit
 * filter: KH * KW * (C_in / groups); 0 if the filter dims are not positive
 * or their product exceeds INT32_MAX (fp_conv2d_s2 then rejects the params). */
#include "fp_runtime.h"

size_t fp_conv2d_s2_scratch_size(const fp_conv2d_params_t *params)
{
    int64_t n;
    if (params == NULL || params->filter.h <= 0 || params->filter.w <= 0 || params->filter.c <= 0) {
        return 0;
    }
    n = (int64_t)params->filter.h * params->filter.w;
    n = n > INT32_MAX ? 0 : n * params->filter.c;
    return n > INT32_MAX ? 0 : (size_t)n;
}
