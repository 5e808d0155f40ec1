/* fp_prelu_s8 - TFLite quantized PRelu on int8 with a per-channel (or
 * scalar) int8 slope repeating along the innermost dim. */
#include "fp_runtime.h"
#include "../internal/fp_lut.h"

fp_status_t fp_prelu_s8(const fp_prelu_params_t *params, const int8_t *input, int8_t *output)
{
    int32_t i;
    int32_t ch = 0;
    if (params == NULL || input == NULL || output == NULL ||
        !fp_prelu_params_valid(params, FP_S8_MIN, FP_S8_MAX)) {
        return FP_ERR_ARG;
    }
    for (i = 0; i < params->size; ++i) {
        output[i] = (int8_t)fp_prelu_elem(params, input[i], params->alpha[ch]);
        ch = ch + 1 == params->channels ? 0 : ch + 1;
    }
    return FP_OK;
}
