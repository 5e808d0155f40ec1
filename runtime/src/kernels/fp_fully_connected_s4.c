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
#include "../internal/fp_requant.h"

/* a * b when both are positive and the product fits an int32_t, else -1 */
static int32_t mul_pos(int32_t a, int32_t b)
{
    int64_t c;
    if (a <= 0 || b <= 0) {
        return -1;
    }
    c = (int64_t)a * b;
    return c > INT32_MAX ? -1 : (int32_t)c;
}

static int params_ok(const fp_fully_connected_params_t *p)
{
    /* every index below is < one of these three counts, so it fits int32 */
    if (mul_pos(p->batches, p->depth) < 0 || mul_pos(p->out_channels, p->depth) < 0
        || mul_pos(p->batches, p->out_channels) < 0) {
        return 0;
    }
    if (p->input_offset < -127 || p->input_offset > 128 || p->filter_offset < -127
        || p->filter_offset > 128 || p->output_offset < -128 || p->output_offset > 127) {
        return 0;
    }
    if (p->act_min > p->act_max || p->act_min < INT8_MIN || p->act_max > INT8_MAX) {
        return 0;
    }
    return fp_requant_legal(&p->requant, p->out_channels, 0);
}

fp_status_t fp_fully_connected_s4(const fp_fully_connected_params_t *params,
                                  const int8_t *input, const int8_t *packed_filter,
                                  const int32_t *bias, int8_t *output, void *scratch)
{
    const fp_requant_t *rq;
    int32_t depth;
    int32_t c_out;
    int32_t in_off;
    int32_t f_off;
    int32_t b;
    int32_t oc;
    (void)scratch; /* fp_fully_connected_s4_scratch_size() is 0 */
    if (params == NULL || input == NULL || packed_filter == NULL || output == NULL
        || !params_ok(params)) {
        return FP_ERR_ARG;
    }
    rq = &params->requant;
    depth = params->depth;
    c_out = params->out_channels;
    in_off = params->input_offset;
    f_off = params->filter_offset;
    for (b = 0; b < params->batches; ++b) {
        const int8_t *x = input + b * depth;
        int8_t *out = output + b * c_out;
        for (oc = 0; oc < c_out; ++oc) {
            const int32_t w0 = oc * depth;
            const int32_t i = rq->n == 1 ? 0 : oc;
            int64_t acc = 0;
            int32_t d;
            int32_t r;
            for (d = 0; d < depth; ++d) {
                const int32_t w = (int32_t)fp_int4_get(packed_filter, w0 + d) + f_off;
                acc += ((int32_t)x[d] + in_off) * w;
            }
            acc += bias != NULL ? bias[oc] : 0;
            r = fp_requant32(fp_sat_s32(acc), rq->multiplier[i], rq->shift[i], rq->mode);
            r = fp_add_sat_s32(r, params->output_offset);
            out[oc] = (int8_t)fp_clamp_s32(r, params->act_min, params->act_max);
        }
    }
    return FP_OK;
}
