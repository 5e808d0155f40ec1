/*
 * fp_add_s8_dsp - int8 elementwise add / subtract with NHWC broadcasting and
 * the Arm DSP extension, bit-identical to fp_add_s8 for every legal input.
 *
 * As fp_add_s8_opt, each input's rescaled term (offset, left shift, first
 * requantization; negated with saturation for the subtrahend) is a 256-entry
 * int32 table built once per call (2 KiB on the stack), so per element only
 * the saturating sum (QADD, = fp_add_sat_s32) and the output requantization
 * remain. In DOUBLE mode with a right (or no) output shift, the TFLite case,
 * that is fp_dsp_apply with a zero bias (fp_dsp.h: the reference's rounding
 * for a Q31 multiplier, then QADD of the output offset and the clamp: the
 * activation range lies inside int8, so saturating at int32 first changes
 * nothing) - about 20 instructions per element against about 110 for the
 * portable select form; every other mode and shift calls fp_requant32 per
 * element, as the reference. Without the DSP extension this is fp_add_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_elementwise.h"
#include "../internal/fp_dsp.h"

#if FP_DSP_AVAILABLE

/* table[v + 128] = the rescaled term of input value v (fp_add_elem's sa / sb,
 * negated with saturation for the subtrahend). */
static void term_table(int32_t *table, int32_t offset, int32_t left_shift, fp_scale_t scale,
                       fp_rq_mode_t mode, int negate)
{
    const int64_t pot = (int64_t)1 << left_shift;
    int32_t v;
    for (v = INT8_MIN; v <= INT8_MAX; ++v) {
        const int32_t a = fp_sat_s32(((int64_t)v + offset) * pot);
        const int32_t t = fp_requant32(a, scale.multiplier, scale.shift, mode);
        table[v - INT8_MIN] = negate ? fp_sat_s32(-(int64_t)t) : t;
    }
}

/* One output row of n elements: input strides st1 / st2 (0: broadcast);
 * fast: DOUBLE rounding and output shift <= 0, with its constants in c. */
static void add_row(const fp_add_params_t *p, const fp_dsp_chan_t *c, int fast, const int32_t *t1,
                    const int32_t *t2, const int8_t *x1, int32_t st1, const int8_t *x2, int32_t st2,
                    int8_t *out, int32_t n)
{
    const int32_t off = p->output_offset;
    const int32_t lo = p->act_min;
    const int32_t hi = p->act_max;
    int32_t i;
    if (fast) {
        for (i = 0; i < n; ++i) {
            const int32_t sum = __qadd(t1[*x1 - INT8_MIN], t2[*x2 - INT8_MIN]);
            out[i] = (int8_t)fp_dsp_apply(c, sum, off, lo, hi);
            x1 += st1;
            x2 += st2;
        }
        return;
    }
    for (i = 0; i < n; ++i) {
        const int32_t sum = fp_add_sat_s32(t1[x1[i * st1] - INT8_MIN], t2[x2[i * st2] - INT8_MIN]);
        const int32_t raw =
            fp_requant32(sum, p->output_scale.multiplier, p->output_scale.shift, p->mode);
        out[i] = (int8_t)fp_clamp_s64((int64_t)raw + off, lo, hi);
    }
}

fp_status_t fp_add_s8_dsp(const fp_add_params_t *params, const int8_t *input1,
                          const int8_t *input2, int8_t *output)
{
    fp_bcast_t bc;
    fp_dsp_chan_t c;
    int fast;
    int32_t t1[256];
    int32_t t2[256];
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t o = 0;
    if (params == NULL || input1 == NULL || input2 == NULL || output == NULL
        || !fp_add_params_valid(params, FP_S8_MIN, FP_S8_MAX, &bc)) {
        return FP_ERR_ARG;
    }
    term_table(t1, params->input1_offset, params->left_shift, params->input1_scale,
               params->mode, 0);
    term_table(t2, params->input2_offset, params->left_shift, params->input2_scale,
               params->mode, params->subtract);
    fast = fp_rq_plain_double(params->mode) && params->output_scale.shift <= 0;
    c.bias = 0;
    c.m = (int32_t)((uint32_t)params->output_scale.multiplier
                    << (32 - (int32_t)params->mode.multiplier_bits));
    c.right = fast ? -params->output_scale.shift : 0;
    c.mask = (int32_t)((1u << c.right) - 1u);
    for (n = 0; n < bc.dims[0]; ++n) {
        for (h = 0; h < bc.dims[1]; ++h) {
            for (w = 0; w < bc.dims[2]; ++w) {
                add_row(params, &c, fast, t1, t2,
                        input1 + (n * bc.s1[0] + h * bc.s1[1] + w * bc.s1[2]), bc.s1[3],
                        input2 + (n * bc.s2[0] + h * bc.s2[1] + w * bc.s2[2]), bc.s2[3],
                        output + o, bc.dims[3]);
                o += bc.dims[3];
            }
        }
    }
    return FP_OK;
}

#else /* no DSP extension: the reference */

fp_status_t fp_add_s8_dsp(const fp_add_params_t *params, const int8_t *input1,
                          const int8_t *input2, int8_t *output)
{
    return fp_add_s8(params, input1, input2, output);
}

#endif
