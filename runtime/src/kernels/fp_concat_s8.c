/*
 * fp_concat_s8 - concatenation of up to 8 int8 tensors along one axis, each
 * input requantized to the output: out = clamp(requant(x + input_offset[i],
 * input_scale[i]) + output_offset) to [-128, 127]. Per outer step, input i
 * contributes axis_size[i] * inner contiguous elements. Inputs whose
 * requantization is an exact identity are copied with memcpy (same result).
 */
#include <string.h>

#include "fp_runtime.h"
#include "../internal/fp_data_movement.h"

fp_status_t fp_concat_s8(const fp_concat_params_t *params, const int8_t *const *inputs,
                         int8_t *output)
{
    int32_t total, i, o, k;
    int32_t axis_start = 0;
    if (params == NULL || inputs == NULL || output == NULL) {
        return FP_ERR_ARG;
    }
    total = fp_concat_axis_total(params, FP_S8_MIN);
    if (total == 0) {
        return FP_ERR_ARG;
    }
    for (i = 0; i < params->n_inputs; ++i) {
        if (inputs[i] == NULL) {
            return FP_ERR_ARG;
        }
    }
    for (i = 0; i < params->n_inputs; ++i) {
        const int32_t chunk = params->axis_size[i] * params->inner;
        const fp_scale_t scale = params->input_scale[i];
        const int32_t in_off = params->input_offset[i];
        const int identity = fp_concat_is_identity(in_off, params->output_offset, scale,
                                                   params->mode, FP_S8_MIN, FP_S8_MAX);
        for (o = 0; o < params->outer; ++o) {
            const int8_t *src = inputs[i] + o * chunk;
            int8_t *dst = output + o * (total * params->inner) + axis_start * params->inner;
            if (identity) {
                memcpy(dst, src, (size_t)chunk * sizeof(*dst));
                continue;
            }
            for (k = 0; k < chunk; ++k) {
                dst[k] = (int8_t)fp_concat_elem(src[k], in_off, scale, params->mode,
                                                 params->output_offset, FP_S8_MIN, FP_S8_MAX);
            }
        }
        axis_start += params->axis_size[i];
    }
    return FP_OK;
}
