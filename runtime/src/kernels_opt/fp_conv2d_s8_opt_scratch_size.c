/* fp_conv2d_s8_opt_scratch_size - K * C_out bytes for the small-window path
 * (the filter transposed; fp_opt_mac.h fp_conv2d_s8_opt_transposed), else 0. */
#include "fp_runtime.h"
#include "../internal/fp_opt_mac.h"

size_t fp_conv2d_s8_opt_scratch_size(const fp_conv2d_params_t *params)
{
    if (params == NULL || !fp_conv2d_s8_opt_transposed(params)) {
        return 0;
    }
    return (size_t)params->filter.h * (size_t)params->filter.w * (size_t)params->filter.c
         * (size_t)params->output.c;
}
