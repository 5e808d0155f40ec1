/*
 * fp_fully_connected_s8_dsp - fp_fully_connected_s8 with the Arm DSP
 * extension, bit-identical to it for every legal input.
 *
 * Four weight rows per pass over the input vector (fp_dsp_dot_4x1): the
 * input is unpacked once per 4 terms with the offset added by SXTAB16 and
 * feeds eight SMLADs; the last c_out % 4 rows go two at a time
 * (fp_dsp_dot_2x1), an odd last row paired with itself. Epilogue: fp_dsp_out. A nonzero filter offset, or an input offset
 * or depth outside fp_dsp_terms_ok, runs the reference. No scratch
 * (fp_fully_connected_s8_dsp_scratch_size() is 0).
 * Without the DSP extension this is fp_fully_connected_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_fc_common.h"
#include "../internal/fp_dsp.h"

#if FP_DSP_AVAILABLE

static void store(const fp_dsp_out_t *o, int8_t *out, const int32_t *acc, int32_t oc, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[oc + i] = (int8_t)fp_dsp_out(o, acc[i], oc + i);
    }
}

static void run(const fp_fully_connected_params_t *p, const int8_t *input, const int8_t *filter,
                const int32_t *bias, int8_t *output)
{
    const fp_dsp_out_t o =
        fp_dsp_out_init(bias, &p->requant, p->output_offset, p->act_min, p->act_max);
    const int32_t depth = p->depth;
    const int32_t c_out = p->out_channels;
    const int32_t off2 = fp_dsp_off2(p->input_offset);
    int32_t b;
    int32_t oc;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *x = input + b * depth;
        int8_t *out = output + b * c_out;
        int32_t acc[4];
        for (oc = 0; oc + 4 <= c_out; oc += 4) {
            const int8_t *w = filter + oc * depth;
            fp_dsp_dot_4x1(w, w + 2 * depth, depth, x, depth / 4, depth % 4, p->input_offset,
                           off2, acc);
            store(&o, out, acc, oc, 4);
        }
        for (; oc < c_out; oc += 2) {
            const int32_t ocb = oc + 1 < c_out ? oc + 1 : oc;
            fp_dsp_dot_2x1(filter + oc * depth, filter + ocb * depth, x, depth / 4, depth % 4,
                           p->input_offset, off2, acc);
            store(&o, out, acc, oc, ocb - oc + 1);
        }
    }
}

fp_status_t fp_fully_connected_s8_dsp(const fp_fully_connected_params_t *params,
                                      const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output, void *scratch)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_fc_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                            INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (params->filter_offset != 0 || !fp_dsp_terms_ok(params->input_offset, params->depth)) {
        return fp_fully_connected_s8(params, input, filter, bias, output, scratch);
    }
    run(params, input, filter, bias, output);
    return FP_OK;
}

#else /* no DSP extension: the reference */

fp_status_t fp_fully_connected_s8_dsp(const fp_fully_connected_params_t *params,
                                      const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output, void *scratch)
{
    return fp_fully_connected_s8(params, input, filter, bias, output, scratch);
}

#endif
