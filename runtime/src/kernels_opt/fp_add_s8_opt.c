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
#include "../internal/fp_opt_host.h"

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

#if FP_OPT_HOST_SIMD
/* The output requantization (one scale for every element) as host vector constants. */
typedef struct {
    fp_opt_rq16_t rq;
    fp_opt_out16_t out;
} add_host_t;

static void add_host_prepare(const fp_add_params_t *p, add_host_t *h)
{
    fp_requant_t rq;
    rq.mode = p->mode;
    rq.n = 1;
    rq.multiplier = &p->output_scale.multiplier;
    rq.shift = &p->output_scale.shift;
    fp_opt_rq16_prepare(&rq, NULL, 1, &h->rq);
    h->out = fp_opt_out16(p->output_offset, p->act_min, p->act_max);
}

/* Blocks of 16 contiguous elements: the table terms into int32 lanes, their
 * saturating sum and fp_opt_rq16_store; returns the elements done. */
static int32_t add_row_host(const add_host_t *h, const int32_t *t1, const int32_t *t2, const int8_t *x1,
                            const int8_t *x2, int8_t *out, int32_t n)
{
    int32_t c0;
    for (c0 = 0; c0 + FP_OPT_LANES <= n; c0 += FP_OPT_LANES) {
        fp_opt_v32 a;
        fp_opt_v32 b;
        fp_opt_v32 sum;
        int32_t j;
        for (j = 0; j < FP_OPT_LANES; ++j) {
            a[j] = t1[x1[c0 + j] - INT8_MIN];
            b[j] = t2[x2[c0 + j] - INT8_MIN];
        }
        fp_opt_add_sat_v(&sum, &a, &b);
        fp_opt_rq16_store(&sum, &h->rq, &h->out, out + c0, FP_OPT_LANES);
    }
    return c0;
}
#endif

/* One output row of n elements: input strides st1 / st2 (0: broadcast). */
static void add_row(const fp_add_params_t *p, const void *host, const int32_t *t1, const int32_t *t2,
                    const int8_t *x1, int32_t st1, const int8_t *x2, int32_t st2, int8_t *out, int32_t n)
{
    int32_t c = 0;
#if FP_OPT_HOST_SIMD
    if (host != NULL && st1 == 1 && st2 == 1) {
        c = add_row_host((const add_host_t *)host, t1, t2, x1, x2, out, n);
    }
#else
    (void)host;
#endif
    if (fp_rq_plain_double(p->mode)) {
        const uint8_t bits = (uint8_t)(p->mode.multiplier_bits < 2 ? 2
                                       : (p->mode.multiplier_bits > 32 ? 32 : p->mode.multiplier_bits));
        for (; c < n; ++c) {
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
    const void *host = NULL;
#if FP_OPT_HOST_SIMD
    add_host_t host_consts;
#endif
    if (params == NULL || input1 == NULL || input2 == NULL || output == NULL ||
        !fp_add_params_valid(params, FP_S8_MIN, FP_S8_MAX, &bc)) {
        return FP_ERR_ARG;
    }
    term_table(t1, params->input1_offset, params->left_shift, params->input1_scale, params->mode, 0);
    term_table(t2, params->input2_offset, params->left_shift, params->input2_scale, params->mode,
               params->subtract);
#if FP_OPT_HOST_SIMD
    if (fp_rq_plain_double(params->mode)) {
        add_host_prepare(params, &host_consts);
        host = &host_consts;
    }
#endif
    for (n = 0; n < bc.dims[0]; ++n) {
        for (h = 0; h < bc.dims[1]; ++h) {
            for (w = 0; w < bc.dims[2]; ++w) {
                add_row(params, host, t1, t2, input1 + (n * bc.s1[0] + h * bc.s1[1] + w * bc.s1[2]), bc.s1[3],
                        input2 + (n * bc.s2[0] + h * bc.s2[1] + w * bc.s2[2]), bc.s2[3], output + o,
                        bc.dims[3]);
                o += bc.dims[3];
            }
        }
    }
    return FP_OK;
}
