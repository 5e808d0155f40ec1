/*
 * fp_add_s8_opt - portable optimized int8 elementwise add / subtract with
 * NHWC broadcasting, bit-identical to fp_add_s8.
 *
 * Each input takes only 256 values, so its rescaled term (offset, left shift,
 * requantization to the common scale: the first half of fp_add_elem) is a
 * 256-entry int32 table built once per call (2 KiB on the stack). Per element
 * what is left is the saturating sum of two table entries and the output
 * requantization; in the DOUBLE mode that is fp_opt_rq_double, whose loop
 * vectorises. Other modes call fp_requant32 per element, as the reference.
 */
#include "fp_runtime.h"
#include "../internal/fp_elementwise.h"
#include "../internal/fp_opt_mac.h"

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

/* One output row of n elements: input strides st1 / st2 (0: broadcast). */
static void add_row(const fp_add_params_t *p, const int32_t *t1, const int32_t *t2, const int8_t *x1,
                    int32_t st1, const int8_t *x2, int32_t st2, int8_t *out, int32_t n)
{
    int32_t c;
    if (p->mode.rounding == FP_ROUND_DOUBLE) {
        const uint8_t bits = (uint8_t)(p->mode.multiplier_bits < 2 ? 2
                                       : (p->mode.multiplier_bits > 32 ? 32 : p->mode.multiplier_bits));
        for (c = 0; c < n; ++c) {
            const int32_t sum = fp_opt_sat_s32((int64_t)t1[x1[c * st1] - INT8_MIN] + t2[x2[c * st2] - INT8_MIN]);
            out[c] = (int8_t)fp_opt_rq_double(sum, 0, p->output_scale.multiplier, p->output_scale.shift, bits,
                                              p->output_offset, p->act_min, p->act_max);
        }
        return;
    }
    for (c = 0; c < n; ++c) {
        const int32_t sum = fp_add_sat_s32(t1[x1[c * st1] - INT8_MIN], t2[x2[c * st2] - INT8_MIN]);
        const int32_t raw = fp_requant32(sum, p->output_scale.multiplier, p->output_scale.shift, p->mode);
        out[c] = (int8_t)fp_clamp_s64((int64_t)raw + p->output_offset, p->act_min, p->act_max);
    }
}

fp_status_t fp_add_s8_opt(const fp_add_params_t *params, const int8_t *input1, const int8_t *input2,
                          int8_t *output)
{
    fp_bcast_t bc;
    int32_t t1[256];
    int32_t t2[256];
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t o = 0;
    if (params == NULL || input1 == NULL || input2 == NULL || output == NULL ||
        !fp_add_params_valid(params, FP_S8_MIN, FP_S8_MAX, &bc)) {
        return FP_ERR_ARG;
    }
    term_table(t1, params->input1_offset, params->left_shift, params->input1_scale, params->mode, 0);
    term_table(t2, params->input2_offset, params->left_shift, params->input2_scale, params->mode,
               params->subtract);
    for (n = 0; n < bc.dims[0]; ++n) {
        for (h = 0; h < bc.dims[1]; ++h) {
            for (w = 0; w < bc.dims[2]; ++w) {
                add_row(params, t1, t2, input1 + (n * bc.s1[0] + h * bc.s1[1] + w * bc.s1[2]), bc.s1[3],
                        input2 + (n * bc.s2[0] + h * bc.s2[1] + w * bc.s2[2]), bc.s2[3], output + o,
                        bc.dims[3]);
                o += bc.dims[3];
            }
        }
    }
    return FP_OK;
}
