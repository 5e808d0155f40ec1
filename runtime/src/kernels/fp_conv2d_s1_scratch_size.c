/* fp_conv2d_s1_scratch_size - bytes to unpack one output channel's 1-bit
 * filter: KH * KW * (C_in / groups); 0 if the filter dims are not positive
 * or their product exceeds INT32_MAX (fp_conv2d_s1 then rejects the params). */
#include "fp_runtime.h"
#include "../internal/fp_packed_weights.h"

size_t fp_conv2d_s1_scratch_size(const fp_conv2d_params_t *params)
{
    return fp_conv2d_packed_scratch_size(params);
}
