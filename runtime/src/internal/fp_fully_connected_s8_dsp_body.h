/*
 * fp_fully_connected_s8_dsp_body.h - the fast path of fp_fully_connected_s8_dsp
 * (static functions; the algorithm is described there), shared by
 * fp_fully_connected_s8_dsp and fp_fully_connected_s8_dsp_fast. Include after
 * fp_dsp.h inside FP_DSP_AVAILABLE.
 *
 * FP_DSP_FAST_ONLY (define to 1 before including): the caller guarantees
 * fp_dsp_rq_fast_ok, so the epilogue is fp_dsp_out_fast alone and the generic
 * fp_dsp_out_any is never referenced (nor linked).
 */
#ifndef FP_FULLY_CONNECTED_S8_DSP_BODY_H
#define FP_FULLY_CONNECTED_S8_DSP_BODY_H

#include "fp_fc_common.h"
#include "fp_dsp.h"

#ifndef FP_DSP_FAST_ONLY
#define FP_DSP_FAST_ONLY 0
#endif

static void store(const fp_dsp_out_t *o, int8_t *out, const int32_t *acc, int32_t oc, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        out[oc + i] = (int8_t)(FP_DSP_FAST_ONLY ? fp_dsp_out_fast(o, acc[i], oc + i)
                                                : fp_dsp_out(o, acc[i], oc + i));
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

#endif /* FP_FULLY_CONNECTED_S8_DSP_BODY_H */
