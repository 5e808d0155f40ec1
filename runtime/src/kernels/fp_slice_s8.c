/*
 * fp_slice_s8 - strided slice of a int8_t tensor: per stored dim d,
 * output index i reads input index begin[d] + i * stride[d] (stride may be
 * negative). A pure data move: values are copied unchanged.
 */
#include "fp_runtime.h"
#include "../internal/fp_movement.h"

fp_status_t fp_slice_s8(const fp_slice_params_t *params, const int8_t *input, int8_t *output)
{
    int32_t d[4];
    int32_t s[4];
    int32_t start;
    int32_t i0, i1, i2, i3;
    int8_t *dst = output;
    if (params == NULL || input == NULL || output == NULL || !fp_slice_geometry(params, d, s, &start)) {
        return FP_ERR_ARG;
    }
    for (i0 = 0; i0 < d[0]; ++i0) {
        for (i1 = 0; i1 < d[1]; ++i1) {
            for (i2 = 0; i2 < d[2]; ++i2) {
                /* every index lies inside the input: checked at both ends of each dim */
                const int8_t *src = input + start + i0 * s[0] + i1 * s[1] + i2 * s[2];
                for (i3 = 0; i3 < d[3]; ++i3) {
                    *dst++ = src[i3 * s[3]];
                }
            }
        }
    }
    return FP_OK;
}
