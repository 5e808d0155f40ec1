/*
 * fp_leaky_relu_s8_opt - portable optimized int8 leaky relu, bit-identical
 * to fp_leaky_relu_s8.
 *
 * An int8 input takes only 256 values and each output element depends on its
 * input value alone (fp_leaky_relu_elem), so for tensors of at least
 * FP_LRELU_OPT_TABLE_MIN elements the 256 results are computed once per call
 * into a table on the stack (256 bytes) and every element is one lookup;
 * smaller tensors compute each element as the reference does.
 */
#include "fp_runtime.h"
#include "../internal/fp_elementwise.h"

/* Elements from which the table (256 element computations) pays. */
#define FP_LRELU_OPT_TABLE_MIN 512

fp_status_t fp_leaky_relu_s8_opt(const fp_leaky_relu_params_t *params, const int8_t *input,
                                 int8_t *output)
{
    int8_t table[256];
    int32_t i;
    if (params == NULL || input == NULL || output == NULL ||
        !fp_leaky_relu_params_valid(params, FP_S8_MIN, FP_S8_MAX)) {
        return FP_ERR_ARG;
    }
    if (params->size < FP_LRELU_OPT_TABLE_MIN) {
        for (i = 0; i < params->size; ++i) {
            output[i] = (int8_t)fp_leaky_relu_elem(params, input[i]);
        }
        return FP_OK;
    }
    for (i = INT8_MIN; i <= INT8_MAX; ++i) {
        table[i - INT8_MIN] = (int8_t)fp_leaky_relu_elem(params, (int8_t)i);
    }
    for (i = 0; i < params->size; ++i) {
        output[i] = table[input[i] - INT8_MIN];
    }
    return FP_OK;
}
