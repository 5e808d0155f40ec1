/*
 * fp_depthwise_conv2d_s8_mve - fp_depthwise_conv2d_s8 with Helium (MVE),
 * bit-identical to it for every legal input.
 *
 * Depth multiplier 1: per output pixel, four channels per vector (int8
 * loads widened to int32 lanes, VMUL + VADD per tap, tail predicated). A
 * window inside the input sums x * w over all taps and adds the folded
 * input_offset * sum(w) of the channel (once per call); a window touching
 * the padding sums (x + input_offset) * w over its in-input taps. Then the
 * vector epilogue (fp_mve_rq4 / fp_mve_rq4_total). Exactness: fp_mve.h (K = KH * KW terms).
 * Scratch: fp_depthwise_conv2d_s8_mve_scratch_size(); other depth
 * multipliers, a NULL scratch or an input offset / window outside
 * fp_dsp_terms_ok run the reference's exact int64 sums inline (run_exact). Without MVE this is
 * fp_depthwise_conv2d_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"
#include "../internal/fp_mve.h"

#if FP_MVE_AVAILABLE

/* t[SUMOFF][c] = input_offset * sum over the taps of w[tap][c]. */
static void tap_sums(const fp_mve_out_t *o, const int8_t *filter, int32_t taps,
                     int32_t input_offset)
{
    int32_t c;
    int32_t j;
    for (c = 0; c < o->n; c += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(o->n - c));
        int32x4_t s = vdupq_n_s32(0);
        for (j = 0; j < taps; ++j) {
            s = vaddq_s32(s, vldrbq_z_s32(filter + j * o->n + c, p));
        }
        vstrwq_s32(fp_mve_group(o, c) + 4 * FP_MVE_T_SUMOFF, vmulq_n_s32(s, input_offset));
    }
}

/* Sums over all taps of a window inside the input for channels c..c+3 (p:
 * the lanes in use); x, w: tap (0, 0) of channel c. */
static int32x4_t taps_full(const fp_conv_geom_t *g, int32_t n, const int8_t *x, const int8_t *w,
                           int32x4_t acc, mve_pred16_t p)
{
    const int32_t row_step = g->dil_h * g->in_w * n;
    const int32_t col_step = g->dil_w * n;
    int32_t ky;
    int32_t kx;
    for (ky = 0; ky < g->k_h; ++ky) {
        const int8_t *xc = x;
        for (kx = 0; kx < g->k_w; ++kx) {
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_z_s32(xc, p), vldrbq_z_s32(w, p)));
            xc += col_step;
            w += n;
        }
        x += row_step;
    }
    return acc;
}

/* Output pixel whose window lies inside the input; x: its tap (0, 0). Full
 * groups of 4 channels unpredicated (3x3, dilation 1: the nine taps
 * unrolled), the last n % 4 predicated. */
static void pixel_full(const fp_mve_out_t *o, const fp_conv_geom_t *g, int three,
                       const int8_t *x, const int8_t *filter, int8_t *out)
{
    const int32_t n = o->n;
    int32_t c = 0;
    if (three) {
        const int32_t rs = g->in_w * n;
        for (; c + 4 <= n; c += 4) {
            const int8_t *w = filter + c;
            const int8_t *x0 = x + c;
            const int8_t *x1 = x0 + rs;
            const int8_t *x2 = x1 + rs;
            int32x4_t acc = vdupq_n_s32(0);
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x0), vldrbq_s32(w)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x0 + n), vldrbq_s32(w + n)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x0 + 2 * n), vldrbq_s32(w + 2 * n)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x1), vldrbq_s32(w + 3 * n)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x1 + n), vldrbq_s32(w + 4 * n)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x1 + 2 * n), vldrbq_s32(w + 5 * n)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x2), vldrbq_s32(w + 6 * n)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x2 + n), vldrbq_s32(w + 7 * n)));
            acc = vaddq_s32(acc, vmulq_s32(vldrbq_s32(x2 + 2 * n), vldrbq_s32(w + 8 * n)));
            vstrbq_s32(out + c, fp_mve_rq4(o, fp_mve_group(o, c), acc));
        }
    } else {
        for (; c + 4 <= n; c += 4) {
            const int32x4_t acc = taps_full(g, n, x + c, filter + c, vdupq_n_s32(0), vctp32q(4u));
            vstrbq_s32(out + c, fp_mve_rq4(o, fp_mve_group(o, c), acc));
        }
    }
    if (c < n) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - c));
        const int32x4_t acc = taps_full(g, n, x + c, filter + c, vdupq_n_s32(0), p);
        vstrbq_p_s32(out + c, fp_mve_rq4(o, fp_mve_group(o, c), acc), p);
    }
}

/* Output pixel whose window touches the padding: its in-input taps only,
 * each term (x + input_offset) * w. */
static void pixel_edge(const fp_mve_out_t *o, const fp_conv_geom_t *g, const int8_t *in_b,
                       const fp_conv_window_t *win, const int8_t *filter, int32_t input_offset,
                       int8_t *out)
{
    const int32_t n = o->n;
    int32_t c;
    for (c = 0; c < n; c += 4) {
        const mve_pred16_t p = vctp32q((uint32_t)(n - c));
        int32x4_t acc = vdupq_n_s32(0);
        int32_t ky;
        int32_t kx;
        for (ky = win->ky0; ky < win->ky1; ++ky) {
            const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
            for (kx = win->kx0; kx < win->kx1; ++kx) {
                const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
                const int32x4_t xv = vaddq_n_s32(
                    vldrbq_z_s32(in_b + (iy * g->in_w + ix) * n + c, p), input_offset);
                acc = vaddq_s32(acc,
                                vmulq_s32(xv, vldrbq_z_s32(filter + (ky * g->k_w + kx) * n + c, p)));
            }
        }
        vstrbq_p_s32(out + c, fp_mve_rq4_total(o, fp_mve_group(o, c), acc), p);
    }
}

/* Outputs of the scalar modes (SINGLE / SHIFT_ONLY): the vector sums, then
 * fp_mve_rq1 per channel. Same loops as above without the vector epilogue. */
static void pixel_any(const fp_mve_out_t *o, const fp_conv_geom_t *g, const int8_t *in_b,
                      const fp_conv_window_t *win, const int8_t *filter, int32_t input_offset,
                      int8_t *out)
{
    const int32_t n = o->n;
    int32_t c;
    for (c = 0; c < n; ++c) {
        int32_t sum = 0;
        int32_t ky;
        int32_t kx;
        for (ky = win->ky0; ky < win->ky1; ++ky) {
            const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
            for (kx = win->kx0; kx < win->kx1; ++kx) {
                const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
                sum += (in_b[(iy * g->in_w + ix) * n + c] + input_offset)
                     * filter[(ky * g->k_w + kx) * n + c];
            }
        }
        out[c] = (int8_t)fp_mve_rq1(o, sum, c);
    }
}

static void run(const fp_depthwise_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                const int32_t *bias, int8_t *output, void *scratch)
{
    const fp_conv_geom_t g = fp_depthwise_geom(p);
    const int32_t n = p->output.c;
    const fp_mve_out_t o = fp_mve_out_init((int32_t *)fp_mve_align16(scratch), n, bias,
                                           &p->requant, p->output_offset, p->act_min, p->act_max);
    const int three = g.k_h == 3 && g.k_w == 3 && g.dil_h == 1 && g.dil_w == 1;
    int32_t b;
    int32_t oy;
    int32_t ox;
    tap_sums(&o, filter, g.k_h * g.k_w, p->input_offset);
    for (b = 0; b < p->output.n; ++b) {
        const int8_t *in_b = input + b * g.in_h * g.in_w * n;
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&g, oy, ox);
                const int full = win.ky0 == 0 && win.ky1 == g.k_h && win.kx0 == 0
                              && win.kx1 == g.k_w;
                if (!o.fast) {
                    pixel_any(&o, &g, in_b, &win, filter, p->input_offset, output);
                } else if (!full) {
                    pixel_edge(&o, &g, in_b, &win, filter, p->input_offset, output);
                } else {
                    pixel_full(&o, &g, three,
                               in_b + ((int32_t)win.iy0 * g.in_w + (int32_t)win.ix0) * n, filter,
                               output);
                }
                output += n;
            }
        }
    }
}

/* Depth multipliers > 1 and calls the fast path cannot prove exact: the
 * reference's int64 sums, inline. */
static void run_exact(const fp_depthwise_conv2d_params_t *p, const int8_t *input,
                      const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const fp_conv_geom_t g = fp_depthwise_geom(p);
    const int32_t c_out = p->output.c;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    int32_t ky;
    int32_t kx;
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&g, oy, ox);
                for (oc = 0; oc < c_out; ++oc) {
                    const int32_t ic = oc / p->depth_multiplier;
                    int64_t acc = 0;
                    for (ky = win.ky0; ky < win.ky1; ++ky) {
                        const int32_t iy = (int32_t)(win.iy0 + (int64_t)ky * g.dil_h);
                        for (kx = win.kx0; kx < win.kx1; ++kx) {
                            const int32_t ix = (int32_t)(win.ix0 + (int64_t)kx * g.dil_w);
                            acc += ((int64_t)input[((b * g.in_h + iy) * g.in_w + ix) * g.in_c + ic]
                                    + p->input_offset)
                                 * filter[(ky * g.k_w + kx) * c_out + oc];
                        }
                    }
                    *output++ = (int8_t)fp_mac_out_acc32(acc, bias, oc, &p->requant,
                                                         p->output_offset, p->act_min,
                                                         p->act_max);
                }
            }
        }
    }
}

fp_status_t fp_depthwise_conv2d_s8_mve(const fp_depthwise_conv2d_params_t *params,
                                       const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_depthwise_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN,
                                   FP_MAC_S8_INPUT_OFFSET_MAX, INT32_MIN, INT32_MAX, INT8_MIN,
                                   INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (scratch == NULL || fp_depthwise_conv2d_s8_mve_scratch_size(params) == 0
        || !fp_dsp_terms_ok(params->input_offset, (int64_t)params->filter.h * params->filter.w)) {
        run_exact(params, input, filter, bias, output);
    } else {
        run(params, input, filter, bias, output, scratch);
    }
    return FP_OK;
}

#else /* no MVE: the reference */

fp_status_t fp_depthwise_conv2d_s8_mve(const fp_depthwise_conv2d_params_t *params,
                                       const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch)
{
    return fp_depthwise_conv2d_s8(params, input, filter, bias, output, scratch);
}

#endif
