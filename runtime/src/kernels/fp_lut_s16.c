/* fp_lut_s16 - elementwise function by TFLite's interpolated 513-entry int16
 * table (see fp_lut_s16_elem in internal/fp_lut.h). */
#include "fp_runtime.h"
#include "../internal/fp_lut.h"

fp_status_t fp_lut_s16(const fp_lut_params_t *params, const int16_t *input, int16_t *output)
{
    const int16_t *table;
    int32_t i;
    if (params == NULL || input == NULL || output == NULL || !fp_lut_params_valid(params)) {
        return FP_ERR_ARG;
    }
    table = (const int16_t *)params->table;
    for (i = 0; i < params->size; ++i) {
        output[i] = (int16_t)fp_lut_s16_elem(table, input[i]);
    }
    return FP_OK;
}
