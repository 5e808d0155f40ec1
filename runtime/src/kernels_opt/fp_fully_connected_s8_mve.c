/*
 * fp_fully_connected_s8_mve - fp_fully_connected_s8 with Helium (MVE),
 * bit-identical to it for every legal input.
 *
 * Four weight rows share each 16-byte input load (fp_mve_rows: 5 loads and
 * 4 VMLADAVA.S8 per 64 MACs, tail predicated), the last out_channels % 4
 * rows run one at a time; the input offset is folded in per channel as
 * input_offset * sum(w), the sums taken by VADDVA in the first batch's pass
 * (4 more instructions per 64 MACs), and the outputs are requantized four
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
    for (b = 0; b < p->batches; ++b) {
        /* the first pass also sums the weight rows (the folded offset) */
        fp_mve_rows(input + b * depth, filter, depth, c_out, acc,
                    b == 0 && p->input_offset != 0 ? t + FP_MVE_T_SUMOFF * o.s : NULL);
        if (b == 0 && p->input_offset != 0) {
            fp_mve_scale_sums(&o, p->input_offset);
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
