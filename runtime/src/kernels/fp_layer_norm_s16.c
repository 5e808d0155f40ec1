/* fp_layer_norm_s16 - layer normalization of int16 vectors with exact integer
 * mean / variance and an integer inverse square root (fp_layer_norm_params_t;
 * docs/kernels.md "layer_norm"). */
#include "fp_runtime.h"
#include "../internal/fp_layer_norm.h"

fp_status_t fp_layer_norm_s16(const fp_layer_norm_params_t *params, const int16_t *input, int16_t *output)
{
    int32_t outer, i, k;
    if (params == NULL || input == NULL || output == NULL ||
        !fp_ln_params_valid(params, FP_S16_MIN, FP_S16_MAX, 1)) {
        return FP_ERR_ARG;
    }
    outer = params->rows / params->inner;
    for (i = 0; i < outer; ++i) {
        for (k = 0; k < params->inner; ++k) {
            const int16_t *x = input + ((int64_t)i * params->depth * params->inner + k);
            int16_t *o = output + ((int64_t)i * params->depth * params->inner + k);
            FP_LN_VECTOR(int16_t, params, x, o);
        }
    }
    return FP_OK;
}
