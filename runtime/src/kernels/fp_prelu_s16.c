/* fp_prelu_s16 - TFLite quantized PRelu on int16 with a per-channel (or
 * scalar) int8 slope repeating along the innermost dim. */
#include "fp_runtime.h"
#include "../internal/fp_lut.h"

fp_status_t fp_prelu_s16(const fp_prelu_params_t *params, const int16_t *input, int16_t *output)
{
    int32_t i;
    int32_t ch = 0;
    if (params == NULL || input == NULL || output == NULL ||
        !fp_prelu_params_valid(params, FP_S16_MIN, FP_S16_MAX)) {
        return FP_ERR_ARG;
    }
    for (i = 0; i < params->size; ++i) {
        output[i] = (int16_t)fp_prelu_elem(params, input[i], params->alpha[ch]);
        ch = ch + 1 == params->channels ? 0 : ch + 1;
    }
    return FP_OK;
}
