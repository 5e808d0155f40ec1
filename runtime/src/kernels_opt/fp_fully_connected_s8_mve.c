/*
 * fp_fully_connected_s8_mve - fp_fully_connected_s8 with Helium (MVE),
 * bit-identical to it for every legal input.
 *
 * Four weight rows share each 16-byte input load (fp_mve_dot4: 5 loads and
 * 4 VMLADAVA.S8 per 64 MACs, tail predicated), the last out_channels % 4
 * rows run one at a time; the input offset is folded in per channel as
 * input_offset * sum(w) (once per call) and the outputs are requantized four
 * per vector (fp_mve_store). Exactness: fp_mve.h. Scratch:
 * fp_fully_connected_s8_mve_scratch_size(); without it (NULL), with a
 * nonzero filter offset, or an input offset / depth outside fp_dsp_terms_ok,
 * the reference runs. Without MVE this is fp_fully_connected_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_fc_common.h"
#include "../internal/fp_mve.h"

#if FP_MVE_AVAILABLE

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
    fp_mve_row_sums(&o, filter, depth, p->input_offset);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * depth;
        int32_t oc;
        for (oc = 0; oc + 4 <= c_out; oc += 4) {
            fp_mve_dot4(x, filter + oc * depth, depth, depth, acc + oc);
        }
        for (; oc < c_out; ++oc) {
            acc[oc] = fp_mve_dot1(x, filter + oc * depth, depth);
        }
        fp_mve_store(&o, acc, output + b * c_out);
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
        return fp_fully_connected_s8(params, input, filter, bias, output, scratch);
    }
    run(params, input, filter, bias, output, scratch);
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
