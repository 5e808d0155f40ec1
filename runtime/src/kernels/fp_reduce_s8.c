/* fp_reduce_s8 - sum (or mean: 1/count folded into the scale) or max of
 * int8_t values over any subset of the NHWC axes; see fp_reduce_params_t and
 * internal/fp_reduce.h (int64 sum saturated to int32, then requantized). */
#include "fp_runtime.h"
#include "../internal/fp_reduce.h"

fp_status_t fp_reduce_s8(const fp_reduce_params_t *params, const int8_t *input, int8_t *output)
{
    fp_reduce_geom_t g;
    int32_t o, k, size, taps;
    if (params == NULL || input == NULL || output == NULL
        || !fp_reduce_params_valid(params, FP_S8_MIN, FP_S8_MAX)) {
        return FP_ERR_ARG;
    }
    g = fp_reduce_geom(params);
    size = fp_dims_count(&params->output);
    taps = fp_reduce_window_size(&g);
    for (o = 0; o < size; ++o) {
        const int32_t first = fp_reduce_first(params, &g, o);
        int64_t acc = 0;
        int32_t best = input[first];
        for (k = 0; k < taps; ++k) {
            const int32_t v = input[fp_reduce_tap(&g, first, k)];
            acc += (int64_t)v + params->input_offset;
            best = v > best ? v : best;
        }
        output[o] = (int8_t)fp_reduce_finish(params, acc, best);
    }
    return FP_OK;
}
