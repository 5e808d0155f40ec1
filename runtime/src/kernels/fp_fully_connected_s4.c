/*
 * fp_fully_connected_s4 - int8 activations x packed int4 weights fully
 * connected: input [batches, depth], filter [C_out, depth] packed two per byte
 * over the flattened tensor (fp_int4.h), int32 bias. Weights are unpacked on
 * the fly (no scratch). Bit-identical to fp_fully_connected_s8 run on the
 * unpacked weights.
 *
 *   acc[b,oc] = bias[oc] + sum_d (x[b,d] + input_offset) * (w[oc,d] + filter_offset)
 * The sum is exact in int64 and saturated to int32 before requantization.
 * Parameter ranges: docs/kernels.md.
 */
#include "fp_runtime.h"
#include "../internal/fp_int4.h"
#include "../internal/fp_packed_weights.h"

fp_status_t fp_fully_connected_s4(const fp_fully_connected_params_t *params,
                                  const int8_t *input, const int8_t *packed_filter,
                                  const int32_t *bias, int8_t *output, void *scratch)
{
    (void)scratch; /* fp_fully_connected_s4_scratch_size() is 0 */
    return fp_fully_connected_packed(params, input, packed_filter, bias, output, fp_int4_get);
}
