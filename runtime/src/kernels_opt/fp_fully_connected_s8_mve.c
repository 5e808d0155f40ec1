/*
 * fp_fully_connected_s8_mve - fp_fully_connected_s8 with Helium (MVE),
 * bit-identical to it for every legal input.
 *
 * Four weight rows share each 16-byte input load (fp_mve_dot4: 5 loads and
 * 4 VMLADAVA.S8 per 64 MACs, tail predicated), the last out_channels % 4
 * rows run one at a time; the input offset is folded in per channel as
 * input_offset * sum(w), the sums taken by VADDVA in the first batch's pass
 * (4 more instructions per 64 MACs), and the outputs are requantized four
 * per vector (fp_mve_store4). Exactness: fp_mve.h. Scratch:
 * fp_fully_connected_s8_mve_scratch_size(); without it (NULL), with a
 * nonzero filter offset, or an input offset / depth outside fp_dsp_terms_ok,
 * the reference's exact int64 sums run inline (run_exact). Without MVE this is fp_fully_connected_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_fc_common.h"
#include "../internal/fp_mve.h"

#if FP_MVE_AVAILABLE

/* The first batch's outputs; the same pass sums the weight rows for the
 * folded offset (fp_mve_dot4_sums). */
static void first_pass(const fp_mve_out_t *o, const int8_t *x, const int8_t *filter,
                       int32_t depth, int32_t input_offset, int8_t *out)
{
    int32_t oc = 0;
    for (; oc + 4 <= o->n; oc += 4) {
        int32x4_t sums;
        const int32x4_t acc = fp_mve_dot4_sums(x, filter + oc * depth, depth, &sums);
        vstrwq_s32(fp_mve_group(o, oc) + 4 * FP_MVE_T_SUMOFF, vmulq_n_s32(sums, input_offset));
        fp_mve_store4(o, acc, oc, 4, out);
    }
    if (oc < o->n) {
        int32_t a[4] = {0, 0, 0, 0};
        int32_t j;
        for (j = 0; oc + j < o->n; ++j) {
            const int8_t *w = filter + (oc + j) * depth;
            a[j] = fp_mve_dot1(x, w, depth);
            *fp_mve_entry(o, FP_MVE_T_SUMOFF, oc + j) =
                (int32_t)((uint32_t)fp_mve_sum1(w, depth) * (uint32_t)input_offset);
        }
        fp_mve_store4(o, vldrwq_s32(a), oc, o->n - oc, out);
    }
}

static void run(const fp_fully_connected_params_t *p, const int8_t *input, const int8_t *filter,
                const int32_t *bias, int8_t *output, void *scratch)
{
    const int32_t depth = p->depth;
    const int32_t c_out = p->out_channels;
    int32_t *t = (int32_t *)fp_mve_align16(scratch);
    int32_t *acc = t + FP_MVE_TABLES * fp_mve_round4(c_out);
    const fp_mve_out_t o =
        fp_mve_out_init(t, c_out, bias, &p->requant, p->output_offset, p->act_min, p->act_max);
    int32_t b;
    first_pass(&o, input, filter, depth, p->input_offset, output);
    for (b = 1; b < p->batches; ++b) {
        fp_mve_rows_acc(input + b * depth, filter, depth, c_out, acc);
        fp_mve_store_all(&o, acc, output + b * c_out);
    }
}

/* Calls the fast path cannot prove exact: the reference's int64 sums, inline. */
static void run_exact(const fp_fully_connected_params_t *p, const int8_t *input,
                      const int8_t *filter, const int32_t *bias, int8_t *output)
{
    int32_t b;
    int32_t oc;
    int32_t d;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * p->depth;
        for (oc = 0; oc < p->out_channels; ++oc) {
            const int8_t *w = filter + oc * p->depth;
            int64_t acc = 0;
            for (d = 0; d < p->depth; ++d) { /* each term fits int32 (fp_fc_params_ok) */
                acc += ((int32_t)x[d] + p->input_offset) * ((int32_t)w[d] + p->filter_offset);
            }
            *output++ = (int8_t)fp_mac_out_acc32(acc, bias, oc, &p->requant, p->output_offset,
                                                 p->act_min, p->act_max);
        }
    }
}

fp_status_t fp_fully_connected_s8_mve(const fp_fully_connected_params_t *params,
                                      const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output, void *scratch)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_fc_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                            INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (scratch == NULL || params->filter_offset != 0
        || fp_fully_connected_s8_mve_scratch_size(params) == 0
        || !fp_dsp_terms_ok(params->input_offset, params->depth)) {
        run_exact(params, input, filter, bias, output);
    } else {
        run(params, input, filter, bias, output, scratch);
    }
    return FP_OK;
}

#else /* no MVE: the reference */

fp_status_t fp_fully_connected_s8_mve(const fp_fully_connected_params_t *params,
                                      const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output, void *scratch)
{
    return fp_fully_connected_s8(params, input, filter, bias, output, scratch);
}

#endif
