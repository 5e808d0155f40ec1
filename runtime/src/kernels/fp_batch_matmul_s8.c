/* fp_batch_matmul_s8 - batched matmul of two int8 activations, strided operands
 * (fp_batch_matmul_params_t; docs/kernels.md "batch_matmul"). */
#include "fp_runtime.h"
#include "../internal/fp_batch_matmul.h"

fp_status_t fp_batch_matmul_s8(const fp_batch_matmul_params_t *params, const int8_t *input1,
                               const int8_t *input2, int8_t *output)
{
    const fp_batch_matmul_params_t *p = params;
    int32_t b0, b1, m, n, k;
    if (p == NULL || input1 == NULL || input2 == NULL || output == NULL ||
        !fp_bmm_params_valid(p, FP_S8_MIN, FP_S8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    for (b0 = 0; b0 < p->batch[0]; ++b0) {
        for (b1 = 0; b1 < p->batch[1]; ++b1) {
            const int8_t *a = input1 + (b0 * p->input1_stride[0] + b1 * p->input1_stride[1]);
            const int8_t *b = input2 + (b0 * p->input2_stride[0] + b1 * p->input2_stride[1]);
            int8_t *o = output + (b0 * p->output_stride[0] + b1 * p->output_stride[1]);
            for (m = 0; m < p->rows; ++m) {
                for (n = 0; n < p->cols; ++n) {
                    /* |term| <= 383 * 383 and depth <= 2^20: the int64 sum is exact */
                    int64_t acc = 0;
                    int64_t out;
                    for (k = 0; k < p->depth; ++k) {
                        int32_t x = (int32_t)a[m * p->input1_stride[2] + k * p->input1_stride[3]] + p->input1_offset;
                        int32_t y = (int32_t)b[k * p->input2_stride[2] + n * p->input2_stride[3]] + p->input2_offset;
                        acc += (int64_t)(x * y);
                    }
                    out = (int64_t)fp_requant32(fp_sat_s32(acc), p->output_scale.multiplier,
                                                p->output_scale.shift, p->mode) +
                          p->output_offset;
                    out = out < p->act_min ? p->act_min : (out > p->act_max ? p->act_max : out);
                    o[m * p->output_stride[2] + n * p->output_stride[3]] = (int8_t)out;
                }
            }
        }
    }
    return FP_OK;
}
