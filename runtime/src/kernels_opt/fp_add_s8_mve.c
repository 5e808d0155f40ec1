/*
 * fp_add_s8_mve - fp_add_s8 (elementwise add / subtract with NHWC
 * broadcasting) with Helium (MVE), bit-identical to it for every legal
 * input.
 *
 * DOUBLE rounding (TFLite's) and input offsets with x + offset inside int32
 * (|offset| <= 2^31 - 129): four elements per vector, every step of
 * fp_add_elem as a lane operation: VQSHL by left_shift is
 * fp_sat_s32((x + offset) * 2^left_shift), fp_mve_rq_double_n is
 * fp_requant32 (fp_mve.h), VQNEG is the saturated negation of the
 * subtrahend, VQADD the saturated sum, and VQADD of the output offset then
 * the clamp to [act_min, act_max] (inside int8) equals the reference's int64
 * sum and clamp. A channel stride of 0 (broadcast) reads one value per row.
 * Inputs without broadcasting run as one flat row, each input's term (offset,
 * shift, first requantization) looked up in a 256-entry table built per call
 * with the same lane operations (2 KiB of stack), as fp_add_s8_opt does.
 * Other modes and offsets run fp_add_elem per element, inline. No scratch.
 * Without MVE this is fp_add_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_elementwise.h"
#include "../internal/fp_mve.h"

#if FP_MVE_AVAILABLE

/* The call's constants: offsets, left shift, Q31 multipliers and the left
 * / right parts of each shift, output offset and range. */
typedef struct {
    int32_t off1, off2, left, m1, l1, r1, m2, l2, r2, mo, lo_s, ro, neg, out_off, lo, hi;
} add_k_t;

__attribute__((always_inline)) static inline int32x4_t add4(const add_k_t *k, int32x4_t a,
                                                            int32x4_t b)
{
    int32x4_t sa = vqshlq_r_s32(vaddq_n_s32(a, k->off1), k->left);
    int32x4_t sb = vqshlq_r_s32(vaddq_n_s32(b, k->off2), k->left);
    sa = fp_mve_rq_double_n(sa, k->m1, k->l1, k->r1);
    sb = fp_mve_rq_double_n(sb, k->m2, k->l2, k->r2);
    if (k->neg) {
        sb = vqnegq_s32(sb);
    }
    sa = fp_mve_rq_double_n(vqaddq_s32(sa, sb), k->mo, k->lo_s, k->ro);
    sa = vqaddq_n_s32(sa, k->out_off);
    return vminq_s32(vmaxq_s32(sa, vdupq_n_s32(k->lo)), vdupq_n_s32(k->hi));
}

/* table[(uint8_t)v] = the rescaled term of int8 input value v (the first
 * half of fp_add_elem, negated with saturation for a subtrahend), computed
 * by the same lane operations as add4, 4 values per vector. */
static void term_table(int32_t *table, int32_t off, int32_t left, int32_t m, int32_t l, int32_t r,
                       int32_t neg)
{
    static const int32_t iota[4] = {0, 1, 2, 3};
    const int32x4_t base = vldrwq_s32(iota);
    int32_t v;
    for (v = INT8_MIN; v <= INT8_MAX; v += 4) {
        int32x4_t t = vqshlq_r_s32(vaddq_n_s32(vaddq_n_s32(base, v), off), left);
        t = fp_mve_rq_double_n(t, m, l, r);
        vstrwq_s32(table + (uint8_t)v, neg ? vqnegq_s32(t) : t);
    }
}

/* The flat case: n elements of both inputs, no broadcasting. Each input
 * takes 256 values, so its term is a table lookup (VLDRW gather indexed by
 * the zero-extended byte); per 4 elements what remains is the sum and the
 * output requantization. */
static void flat_row(const add_k_t *k, const int8_t *x1, const int8_t *x2, int8_t *out, int32_t n)
{
    int32_t t1[256];
    int32_t t2[256];
    const int32x4_t lo = vdupq_n_s32(k->lo);
    const int32x4_t hi = vdupq_n_s32(k->hi);
    const uint8_t *u1 = (const uint8_t *)x1;
    const uint8_t *u2 = (const uint8_t *)x2;
    int32_t c = 0;
    term_table(t1, k->off1, k->left, k->m1, k->l1, k->r1, 0);
    term_table(t2, k->off2, k->left, k->m2, k->l2, k->r2, k->neg);
    for (; c + 4 <= n; c += 4) {
        int32x4_t sum = vqaddq_s32(vldrwq_gather_shifted_offset_s32(t1, vldrbq_u32(u1 + c)),
                                   vldrwq_gather_shifted_offset_s32(t2, vldrbq_u32(u2 + c)));
        sum = fp_mve_rq_double_n(sum, k->mo, k->lo_s, k->ro);
        vstrbq_s32(out + c, vminq_s32(vmaxq_s32(vqaddq_n_s32(sum, k->out_off), lo), hi));
    }
    if (c < n) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - c));
        vstrbq_p_s32(out + c, add4(k, vldrbq_z_s32(x1 + c, p), vldrbq_z_s32(x2 + c, p)), p);
    }
}

/* One output row of n elements; input channel strides st1 / st2 are 0
 * (broadcast) or 1. */
static void row(const add_k_t *k, const int8_t *x1, int32_t st1, const int8_t *x2, int32_t st2,
                int8_t *out, int32_t n)
{
    const int32x4_t b1 = vdupq_n_s32(x1[0]);
    const int32x4_t b2 = vdupq_n_s32(x2[0]);
    int32_t c = 0;
    for (; c + 4 <= n; c += 4) {
        vstrbq_s32(out + c, add4(k, st1 ? vldrbq_s32(x1 + c) : b1, st2 ? vldrbq_s32(x2 + c) : b2));
    }
    if (c < n) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - c));
        vstrbq_p_s32(out + c,
                     add4(k, st1 ? vldrbq_z_s32(x1 + c, p) : b1, st2 ? vldrbq_z_s32(x2 + c, p) : b2),
                     p);
    }
}

static int32_t q31(int32_t multiplier, const fp_add_params_t *p)
{
    return (int32_t)((uint32_t)multiplier << (32 - (int32_t)p->mode.multiplier_bits));
}

static int offset_ok(int32_t off)
{
    return off >= INT32_MIN + 128 && off <= INT32_MAX - 127;
}

/* The inputs need no broadcasting: one flat row. */
static int flat(const fp_bcast_t *bc)
{
    const int32_t c = bc->dims[3];
    const int32_t wc = bc->dims[2] * c;
    const int32_t hwc = bc->dims[1] * wc;
    return bc->s1[3] == 1 && bc->s2[3] == 1 && bc->s1[2] == c && bc->s2[2] == c
        && bc->s1[1] == wc && bc->s2[1] == wc && bc->s1[0] == hwc && bc->s2[0] == hwc;
}

static void run(const fp_add_params_t *p, const fp_bcast_t *bc, const int8_t *input1,
                const int8_t *input2, int8_t *output)
{
    add_k_t k;
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t o = 0;
    k.off1 = p->input1_offset;
    k.off2 = p->input2_offset;
    k.left = p->left_shift;
    k.m1 = q31(p->input1_scale.multiplier, p);
    k.l1 = p->input1_scale.shift > 0 ? p->input1_scale.shift : 0;
    k.r1 = p->input1_scale.shift < 0 ? p->input1_scale.shift : 0;
    k.m2 = q31(p->input2_scale.multiplier, p);
    k.l2 = p->input2_scale.shift > 0 ? p->input2_scale.shift : 0;
    k.r2 = p->input2_scale.shift < 0 ? p->input2_scale.shift : 0;
    k.mo = q31(p->output_scale.multiplier, p);
    k.lo_s = p->output_scale.shift > 0 ? p->output_scale.shift : 0;
    k.ro = p->output_scale.shift < 0 ? p->output_scale.shift : 0;
    k.neg = p->subtract;
    k.out_off = p->output_offset;
    k.lo = p->act_min;
    k.hi = p->act_max;
    if (flat(bc)) {
        flat_row(&k, input1, input2, output, bc->dims[0] * bc->dims[1] * bc->dims[2] * bc->dims[3]);
        return;
    }
    for (n = 0; n < bc->dims[0]; ++n) {
        for (h = 0; h < bc->dims[1]; ++h) {
            for (w = 0; w < bc->dims[2]; ++w) {
                row(&k, input1 + (n * bc->s1[0] + h * bc->s1[1] + w * bc->s1[2]), bc->s1[3],
                    input2 + (n * bc->s2[0] + h * bc->s2[1] + w * bc->s2[2]), bc->s2[3],
                    output + o, bc->dims[3]);
                o += bc->dims[3];
            }
        }
    }
}

/* Every other case: fp_add_elem per element, as the reference. */
static void run_any(const fp_add_params_t *p, const fp_bcast_t *bc, const int8_t *input1,
                    const int8_t *input2, int8_t *output)
{
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
    int32_t o = 0;
    for (n = 0; n < bc->dims[0]; ++n) {
        for (h = 0; h < bc->dims[1]; ++h) {
            for (w = 0; w < bc->dims[2]; ++w) {
                const int8_t *r1 = input1 + (n * bc->s1[0] + h * bc->s1[1] + w * bc->s1[2]);
                const int8_t *r2 = input2 + (n * bc->s2[0] + h * bc->s2[1] + w * bc->s2[2]);
                for (c = 0; c < bc->dims[3]; ++c) {
                    output[o++] = (int8_t)fp_add_elem(p, r1[c * bc->s1[3]], r2[c * bc->s2[3]]);
                }
            }
        }
    }
}

fp_status_t fp_add_s8_mve(const fp_add_params_t *params, const int8_t *input1,
                          const int8_t *input2, int8_t *output)
{
    fp_bcast_t bc;
    if (params == NULL || input1 == NULL || input2 == NULL || output == NULL
        || !fp_add_params_valid(params, FP_S8_MIN, FP_S8_MAX, &bc)) {
        return FP_ERR_ARG;
    }
    if (fp_rq_plain_double(params->mode) && offset_ok(params->input1_offset)
        && offset_ok(params->input2_offset)) {
        run(params, &bc, input1, input2, output);
    } else {
        run_any(params, &bc, input1, input2, output);
    }
    return FP_OK;
}

#else /* no MVE: the reference */

fp_status_t fp_add_s8_mve(const fp_add_params_t *params, const int8_t *input1,
                          const int8_t *input2, int8_t *output)
{
    return fp_add_s8(params, input1, input2, output);
}

#endif
