/* fp_lut_s8 - elementwise function by a 256-entry int8 table (TFLite int8
 * LUT): output = table[input + 128]. The table is computed at lowering from
 * the float function and both quantizations (fixpoint.lower.lut_tables). */
#include "fp_runtime.h"
#include "../internal/fp_lut.h"

fp_status_t fp_lut_s8(const fp_lut_params_t *params, const int8_t *input, int8_t *output)
{
    const int8_t *table;
    int32_t i;
    if (params == NULL || input == NULL || output == NULL || !fp_lut_params_valid(params)) {
        return FP_ERR_ARG;
    }
    table = (const int8_t *)params->table;
    for (i = 0; i < params->size; ++i) {
        output[i] = table[(int32_t)input[i] + 128];
    }
    return FP_OK;
}
