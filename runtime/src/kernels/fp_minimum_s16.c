/* fp_minimum_s16 - elementwise minimum of two int16 tensors with NHWC
 * broadcasting; both inputs rescaled to the output scale first (see
 * internal/fp_lut.h). */
#include "fp_runtime.h"
#include "../internal/fp_lut.h"

fp_status_t fp_minimum_s16(const fp_minmax_params_t *params, const int16_t *input1, const int16_t *input2,
                      int16_t *output)
{
    fp_bcast_t bc;
    int32_t n, h, w, c;
    int32_t o = 0;
    if (params == NULL || input1 == NULL || input2 == NULL || output == NULL ||
        !fp_minmax_params_valid(params, FP_S16_MIN, FP_S16_MAX, &bc)) {
        return FP_ERR_ARG;
    }
    for (n = 0; n < bc.dims[0]; ++n) {
        for (h = 0; h < bc.dims[1]; ++h) {
            for (w = 0; w < bc.dims[2]; ++w) {
                const int16_t *row1 = input1 + (n * bc.s1[0] + h * bc.s1[1] + w * bc.s1[2]);
                const int16_t *row2 = input2 + (n * bc.s2[0] + h * bc.s2[1] + w * bc.s2[2]);
                for (c = 0; c < bc.dims[3]; ++c) {
                    output[o++] = (int16_t)fp_minmax_elem(params, row1[c * bc.s1[3]], row2[c * bc.s2[3]], 0);
                }
            }
        }
    }
    return FP_OK;
}
