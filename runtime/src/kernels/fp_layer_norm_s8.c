/* fp_layer_norm_s8 - layer normalization of int8 vectors with exact integer
 * mean / variance and an integer inverse square root (fp_layer_norm_params_t;
 * docs/kernels.md "layer_norm"). */
#include "fp_runtime.h"
#include "../internal/fp_layer_norm.h"

fp_status_t fp_layer_norm_s8(const fp_layer_norm_params_t *params, const int8_t *input, int8_t *output)
{
    int32_t outer, i, k;
    if (params == NULL || input == NULL || output == NULL ||
        !fp_ln_params_valid(params, FP_S8_MIN, FP_S8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    outer = params->rows / params->inner;
    for (i = 0; i < outer; ++i) {
        for (k = 0; k < params->inner; ++k) {
            const int8_t *x = input + ((int64_t)i * params->depth * params->inner + k);
            int8_t *o = output + ((int64_t)i * params->depth * params->inner + k);
            FP_LN_VECTOR(int8_t, params, x, o);
        }
    }
    return FP_OK;
}
