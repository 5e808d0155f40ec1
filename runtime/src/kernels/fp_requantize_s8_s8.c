/* fp_requantize_s8_s8 - TFLite Requantize: out = clamp(requant(x + input_offset, scale)
 * + output_offset, act_min, act_max), int8_t in, int8_t out. */
#include "fp_runtime.h"
#include "../internal/fp_elementwise.h"

fp_status_t fp_requantize_s8_s8(const fp_requantize_params_t *params, const int8_t *input,
                                int8_t *output)
{
    int32_t i;
    if (params == NULL || input == NULL || output == NULL ||
        !fp_requantize_params_valid(params, FP_S8_MIN, FP_S8_MIN, FP_S8_MAX)) {
        return FP_ERR_ARG;
    }
    for (i = 0; i < params->size; ++i) {
        output[i] = (int8_t)fp_requantize_elem(params, input[i]);
    }
    return FP_OK;
}
