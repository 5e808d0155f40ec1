/*
 * fp_conv2d_s8_mve - fp_conv2d_s8 with Helium (MVE), bit-identical to it for
 * every legal input.
 *
 * Per output pixel and group the window is gathered once into an int8
 * column (im2col with vector copies; padded taps hold -input_offset, whose
 * term cancels the folded offset; a 1x1 tap inside the input is read in
 * place). Four output channels share each 16-byte column load
 * (fp_mve_quads: 5 loads and 4 VMLADAVA.S8 per 64 MACs, tail predicated),
 * the input offset is folded in per channel as input_offset * sum(w)
 * (computed once per call), and the pixel's outputs are requantized four
 * channels per vector (fp_mve_store_all). Exactness: fp_mve.h.
 * Scratch: fp_conv2d_s8_mve_scratch_size(); without it (NULL), or outside
 * the fast path's ranges (fp_dsp_terms_ok), the reference's exact int64 sums
 * run inline (run_exact).
 * Without MVE this is fp_conv2d_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"
#include "../internal/fp_mve.h"

#if FP_MVE_AVAILABLE

/* The int8 window of output pixel (b, oy, ox), group channels c0.. (cg per
 * tap), into col; padded taps get -input_offset. Returns col, or the input
 * itself for a 1x1 tap inside it. */
static const int8_t *window(const fp_conv_geom_t *g, const int8_t *input, int32_t b,
                            const fp_conv_window_t *win, int32_t c0, int32_t cg, int8_t pad,
                            int8_t *col)
{
    int8_t *dst = col;
    int32_t ky;
    int32_t kx;
    if (g->k_h == 1 && g->k_w == 1 && win->ky0 == 0 && win->ky1 == 1 && win->kx0 == 0
        && win->kx1 == 1) {
        return input + ((b * g->in_h + (int32_t)win->iy0) * g->in_w + (int32_t)win->ix0) * g->in_c
             + c0;
    }
    for (ky = 0; ky < g->k_h; ++ky) {
        const int8_t *row;
        if (ky < win->ky0 || ky >= win->ky1) {
            fp_mve_fill(dst, pad, g->k_w * cg);
            dst += g->k_w * cg;
            continue;
        }
        row = input + (b * g->in_h + (int32_t)(win->iy0 + (int64_t)ky * g->dil_h)) * g->in_w * g->in_c
            + c0;
        if (win->kx0 == 0 && win->kx1 == g->k_w && g->dil_w == 1 && cg == g->in_c) {
            /* the row's taps are contiguous in the input */
            fp_mve_copy(dst, row + (int32_t)win->ix0 * g->in_c, g->k_w * cg);
            dst += g->k_w * cg;
            continue;
        }
        for (kx = 0; kx < g->k_w; ++kx) {
            if (kx >= win->kx0 && kx < win->kx1) {
                const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
                fp_mve_copy(dst, row + ix * g->in_c, cg);
            } else {
                fp_mve_fill(dst, pad, cg);
            }
            dst += cg;
        }
    }
    return col;
}

/* The window of a pixel whose columns all lie in the input, one group,
 * dilation_w 1 (each in-input row of taps is k_w * C_in contiguous bytes):
 * rows ky0..ky1-1 in the input start at row0 (tap (ky0, 0)). */
static void window_rows(const fp_conv_geom_t *g, const int8_t *row0, int32_t ky0, int32_t ky1,
                        int8_t pad, int8_t *col)
{
    const int32_t len = g->k_w * g->in_c;
    const int32_t step = g->dil_h * g->in_w * g->in_c;
    int32_t ky;
    for (ky = 0; ky < g->k_h; ++ky) {
        if (ky >= ky0 && ky < ky1) {
            fp_mve_copy(col, row0, len);
            row0 += step;
        } else {
            fp_mve_fill(col, pad, len);
        }
        col += len;
    }
}

static void run(const fp_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                const int32_t *bias, int8_t *output, void *scratch)
{
    const fp_conv_geom_t g = fp_conv2d_geom(p);
    const int32_t c_out = p->output.c;
    const int32_t cg = p->filter.c;
    const int32_t k = p->filter.h * p->filter.w * cg;
    const int32_t opg = c_out / p->groups;
    const int8_t pad = (int8_t)(-p->input_offset);
    int32_t *t = (int32_t *)fp_mve_align16(scratch);
    int32_t *acc = t + FP_MVE_TABLES * fp_mve_round4(c_out);
    int8_t *col = (int8_t *)(acc + fp_mve_round4(c_out));
    const fp_mve_out_t o =
        fp_mve_out_init(t, c_out, bias, &p->requant, p->output_offset, p->act_min, p->act_max);
    /* one group and contiguous rows of taps: window_rows (1x1: read in place) */
    const int rows = p->groups == 1 && g.dil_w == 1;
    int32_t b;
    int32_t oy;
    int32_t ox;
    fp_mve_row_sums(&o, filter, k, p->input_offset);
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            const int64_t iy0 = (int64_t)oy * g.stride_h - g.pad_top;
            int32_t ky0;
            int32_t ky1;
            fp_conv_taps(iy0, g.k_h, g.dil_h, g.in_h, &ky0, &ky1);
            for (ox = 0; ox < p->output.w; ++ox) {
                const int64_t ix0 = (int64_t)ox * g.stride_w - g.pad_left;
                fp_conv_window_t win;
                int32_t grp;
                if (rows && ix0 >= 0 && ix0 + g.k_w <= g.in_w && ky1 > ky0) {
                    /* row ky0 lies in the input, so its address does too */
                    const int32_t iy = (int32_t)(iy0 + (int64_t)ky0 * g.dil_h);
                    const int8_t *row0 =
                        input + ((b * g.in_h + iy) * g.in_w + (int32_t)ix0) * g.in_c;
                    if (g.k_h == 1 && g.k_w == 1) {
                        fp_mve_rows_acc(row0, filter, k, c_out, acc); /* read in place */
                    } else {
                        window_rows(&g, row0, ky0, ky1, pad, col);
                        fp_mve_rows_acc(col, filter, k, c_out, acc);
                    }
                    fp_mve_store_all(&o, acc, output);
                    output += c_out;
                    continue;
                }
                win = fp_conv_window(&g, oy, ox);
                for (grp = 0; grp < p->groups; ++grp) {
                    fp_mve_rows_acc(window(&g, input, b, &win, grp * cg, cg, pad, col),
                                    filter + grp * opg * k, k, opg, acc + grp * opg);
                }
                fp_mve_store_all(&o, acc, output);
                output += c_out;
            }
        }
    }
}

/* Calls the fast path cannot prove exact (input offsets beyond [-127, 128],
 * windows over 65,793 terms, no scratch): the reference's int64 sums,
 * inline, so that a firmware links this variant alone. */
static void run_exact(const fp_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                      const int32_t *bias, int8_t *output)
{
    const fp_conv_geom_t g = fp_conv2d_geom(p);
    const int32_t c_out = p->output.c;
    const int32_t opg = c_out / p->groups;
    const int32_t k = p->filter.h * p->filter.w * p->filter.c;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&g, oy, ox);
                for (oc = 0; oc < c_out; ++oc) {
                    const int64_t acc =
                        fp_conv2d_window_sum_s8(&g, &win, input, filter + oc * k, p->filter.c, b,
                                                (oc / opg) * p->filter.c, p->input_offset);
                    output[oc] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &p->requant,
                                                          p->output_offset, p->act_min,
                                                          p->act_max);
                }
                output += c_out;
            }
        }
    }
}

fp_status_t fp_conv2d_s8_mve(const fp_conv2d_params_t *params, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output,
                             void *scratch)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_conv2d_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (scratch == NULL || fp_conv2d_s8_mve_scratch_size(params) == 0
        || !fp_dsp_terms_ok(params->input_offset, 0)) {
        run_exact(params, input, filter, bias, output);
    } else {
        run(params, input, filter, bias, output, scratch);
    }
    return FP_OK;
}

#else /* no MVE: the reference */

fp_status_t fp_conv2d_s8_mve(const fp_conv2d_params_t *params, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output,
                             void *scratch)
{
    return fp_conv2d_s8(params, input, filter, bias, output, scratch);
}

#endif
