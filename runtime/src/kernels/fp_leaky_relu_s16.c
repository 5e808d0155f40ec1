/* fp_leaky_relu_s16 - TFLite quantized leaky relu on int16 (the sign of
 * x + input_offset selects identity_scale or alpha_scale). */
#include "fp_runtime.h"
#include "../internal/fp_elementwise.h"

fp_status_t fp_leaky_relu_s16(const fp_leaky_relu_params_t *params, const int16_t *input,
                              int16_t *output)
{
    int32_t i;
    if (params == NULL || input == NULL || output == NULL ||
        !fp_leaky_relu_params_valid(params, FP_S16_MIN, FP_S16_MAX)) {
        return FP_ERR_ARG;
    }
    for (i = 0; i < params->size; ++i) {
        output[i] = (int16_t)fp_leaky_relu_elem(params, input[i]);
    }
    return FP_OK;
}
