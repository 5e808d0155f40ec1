/*
 * fp_conv2d_s8_opt - portable optimized int8 2-D convolution, bit-identical
 * to fp_conv2d_s8 (same signature, params, validation and result).
 *
 * Per output pixel and group the window is gathered once into a column of
 * K = KH*KW*Cg bytes (taps outside the input hold -input_offset, so their
 * term (x + input_offset) * w is 0, as the reference's skipped tap); 1x1 and
 * 1xN windows fully inside the input are read in place. On host CPUs
 * (FP_OPT_HOST_SIMD, fp_opt_mac.h) each column value is multiplied into all
 * output channels at once, from the filter transposed onto the stack (no
 * horizontal sums; the output channels are the lanes of 16-lane vectors,
 * requantized together by fp_opt_rq16_store, fp_opt_host.h). Elsewhere each
 * block of FP_OPT_OC_BLOCK output channels then runs one contiguous int32 dot
 * product over the column against its OHWI filter rows. The int32 sum is
 * exact when K * reach(input_offset) * 128 <= INT32_MAX (fp_opt_mac.h);
 * offsets whose negation is not an int8 (the padding value) or columns
 * longer than FP_CONV_OPT_COL_MAX use a direct window walk that skips the
 * outside taps; sums int32 cannot hold exactly take the reference's exact
 * int64 window sum (fp_conv2d_window_sum_s8), one channel at a time.
 */
#include <string.h>

#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"
#include "../internal/fp_opt_mac.h"
#include "../internal/fp_opt_host.h"

/* Column bytes kept on the stack (KH*KW*Cg up to this use the column path). */
#define FP_CONV_OPT_COL_MAX 512
/* Output channels whose int32 sums are requantized together (a multiple of FP_OPT_OC_BLOCK). */
#define FP_CONV_OPT_ACCS 64

typedef struct {
    const fp_conv2d_params_t *p;
    fp_conv_geom_t g;
    int32_t cg;       /* input channels per group */
    int32_t ocg;      /* output channels per group */
    int32_t k;        /* filter bytes per output channel */
} conv_ctx_t;

/* The column of output pixel win for batch b, group channels from c0; returns
 * a pointer to it (in place, or col). */
static const int8_t *gather(const conv_ctx_t *cx, const fp_conv_window_t *win, const int8_t *input,
                            int32_t b, int32_t c0, int8_t *col)
{
    const fp_conv_geom_t *g = &cx->g;
    const int8_t pad = (int8_t)(-cx->p->input_offset);
    const int full = win->ky0 == 0 && win->ky1 == g->k_h && win->kx0 == 0 && win->kx1 == g->k_w;
    int32_t ky;
    int32_t kx;
    if (full && g->k_h == 1 && (g->k_w == 1 || g->dil_w == 1) && cx->cg == g->in_c) {
        return input + ((b * g->in_h + (int32_t)win->iy0) * g->in_w + (int32_t)win->ix0) * g->in_c;
    }
    for (ky = 0; ky < g->k_h; ++ky) {
        int8_t *dst = col + ky * g->k_w * cx->cg;
        const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
        if (ky < win->ky0 || ky >= win->ky1) {
            memset(dst, pad, (size_t)(g->k_w * cx->cg));
            continue;
        }
        for (kx = 0; kx < g->k_w; ++kx) {
            if (kx < win->kx0 || kx >= win->kx1) {
                memset(dst + kx * cx->cg, pad, (size_t)cx->cg);
            } else {
                const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
                memcpy(dst + kx * cx->cg, input + ((b * g->in_h + iy) * g->in_w + ix) * g->in_c + c0,
                       (size_t)cx->cg);
            }
        }
    }
    return col;
}

/* acc[0..nb) += the window sums of output channels oc..oc+nb (nb = 4 or 1),
 * walking the in-input taps only (any legal input offset). */
static void window_direct(const conv_ctx_t *cx, const fp_conv_window_t *win, const int8_t *input,
                          int32_t b, int32_t c0, const int8_t *w, int32_t nb, int32_t acc[4])
{
    const fp_conv_geom_t *g = &cx->g;
    const int32_t off = cx->p->input_offset;
    const int rows = cx->cg == g->in_c && (g->dil_w == 1 || win->kx1 - win->kx0 <= 1);
    int32_t ky;
    int32_t kx;
    for (ky = win->ky0; ky < win->ky1; ++ky) {
        const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
        for (kx = win->kx0; kx < win->kx1; kx = rows ? win->kx1 : kx + 1) {
            const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
            const int8_t *x = input + ((b * g->in_h + iy) * g->in_w + ix) * g->in_c + c0;
            const int8_t *wt = w + (ky * g->k_w + kx) * cx->cg;
            const int32_t n = rows ? (win->kx1 - kx) * cx->cg : cx->cg;
            if (nb == FP_OPT_OC_BLOCK) {
                fp_opt_dot4_s8(x, wt, cx->k, n, off, 0, acc);
            } else {
                acc[0] += fp_opt_dot1_s8(x, wt, n, off, 0);
            }
        }
    }
}

/* Output channels of group gi at output pixel win (batch b) into out, in
 * chunks of FP_CONV_OPT_ACCS accumulators requantized together. */
static void group_pixel(const conv_ctx_t *cx, const fp_conv_window_t *win, const int8_t *input,
                        const int8_t *filter, const int32_t *bias, int8_t *out, int32_t b,
                        int32_t gi, int use_col, int8_t *col_buf)
{
    const fp_conv2d_params_t *p = cx->p;
    const int32_t c0 = gi * cx->cg;
    const int32_t oc_end = (gi + 1) * cx->ocg;
    const int8_t *col = use_col ? gather(cx, win, input, b, c0, col_buf) : NULL;
    int16_t col16[FP_CONV_OPT_COL_MAX];
    int32_t accs[FP_CONV_OPT_ACCS];
    int32_t cs;
    if (col != NULL) {
        /* the offset added once per pixel, not once per output channel block */
        int32_t i;
        for (i = 0; i < cx->k; ++i) {
            col16[i] = (int16_t)(col[i] + p->input_offset);
        }
    }
    for (cs = gi * cx->ocg; cs < oc_end; cs += FP_CONV_OPT_ACCS) {
        const int32_t ce = oc_end - cs > FP_CONV_OPT_ACCS ? cs + FP_CONV_OPT_ACCS : oc_end;
        int32_t oc = cs;
        while (oc < ce) {
            const int32_t nb = ce - oc >= FP_OPT_OC_BLOCK ? FP_OPT_OC_BLOCK : 1;
            const int8_t *w = filter + oc * cx->k;
            int32_t *acc = accs + (oc - cs);
            int32_t j;
            for (j = 0; j < nb; ++j) {
                acc[j] = 0;
            }
            if (col == NULL) {
                window_direct(cx, win, input, b, c0, w, nb, acc);
            } else if (nb == FP_OPT_OC_BLOCK) {
                fp_opt_dot4_s16x8(col16, w, cx->k, cx->k, acc);
            } else {
                acc[0] = fp_opt_dot1_s8(col, w, cx->k, p->input_offset, 0);
            }
            oc += nb;
        }
        fp_opt_out_block_s8(accs, ce - cs, cs, bias, &p->requant, p->output_offset, p->act_min,
                            p->act_max, out + cs);
    }
}

#if FP_OPT_HOST_SIMD
/* Host path (FP_OPT_HOST_SIMD): the output channels are the vector lanes.
 * The filter is transposed once per call into a stack buffer of int32
 * vectors [K][OCP / 16] (OCP = C_out rounded up to 16 lanes, the pad lanes
 * 0), each window gathered once into a column of x + input_offset (taps
 * outside the input 0: the reference skips them), then every 16 channels
 * keep their int32 sums in one vector register over the whole column: per
 * tap one broadcast, one multiply and one add, no horizontal sums. Exact:
 * K <= FP_CONV_OPT_COL_MAX terms of |x + off| * |w| <= 255 * 128. */
/* int32 entries of the transposed filter on the host stack (64 KB). */
#define FP_CONV_OPT_HOST_WT_MAX 16384

static int host_lanes_ok(const conv_ctx_t *cx)
{
    const fp_conv2d_params_t *p = cx->p;
    const int64_t ocp = ((int64_t)p->output.c + FP_OPT_LANES - 1) / FP_OPT_LANES * FP_OPT_LANES;
    return p->groups == 1 && p->input_offset >= -INT8_MAX && p->input_offset <= -INT8_MIN
        && cx->k <= FP_CONV_OPT_COL_MAX && (int64_t)cx->k * ocp <= FP_CONV_OPT_HOST_WT_MAX
        && fp_opt_rq16_ok(&p->requant, p->output.c);
}

/* col[0..n) = x[0..n) + off. */
static void widen_run(int32_t *col, const int8_t *x, int32_t n, int32_t off)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        col[i] = x[i] + off;
    }
}

/* The window of output pixel win (batch b) as x + input_offset, 0 outside the input. */
static void gather32(const conv_ctx_t *cx, const fp_conv_window_t *win, const int8_t *input, int32_t b,
                     int32_t *col)
{
    const fp_conv_geom_t *g = &cx->g;
    const int32_t off = cx->p->input_offset;
    const int32_t cin = g->in_c;
    const int32_t row = g->k_w * cin;
    int32_t ky;
    int32_t kx;
    for (ky = 0; ky < g->k_h; ++ky) {
        int32_t *dst = col + ky * row;
        const int8_t *x;
        if (ky < win->ky0 || ky >= win->ky1) {
            memset(dst, 0, (size_t)row * sizeof(int32_t));
            continue;
        }
        /* an in-input row (only those have an address) */
        x = input + (b * g->in_h + (int32_t)(win->iy0 + (int64_t)ky * g->dil_h)) * g->in_w * cin;
        memset(dst, 0, (size_t)win->kx0 * (size_t)cin * sizeof(int32_t));
        if (g->dil_w == 1 && win->kx1 > win->kx0) {
            /* the in-input taps of a row are one contiguous run (from an in-input column) */
            widen_run(dst + win->kx0 * cin, x + (int32_t)(win->ix0 + win->kx0) * cin,
                      (win->kx1 - win->kx0) * cin, off);
        } else if (g->dil_w != 1) {
            for (kx = win->kx0; kx < win->kx1; ++kx) {
                widen_run(dst + kx * cin, x + (int32_t)(win->ix0 + (int64_t)kx * g->dil_w) * cin, cin, off);
            }
        }
        memset(dst + win->kx1 * cin, 0, (size_t)(g->k_w - win->kx1) * (size_t)cin * sizeof(int32_t));
    }
}

static void host_lanes(const conv_ctx_t *cx, const int8_t *input, const int8_t *filter, const int32_t *bias,
                       int8_t *output)
{
    const fp_conv2d_params_t *p = cx->p;
    const int32_t c_out = p->output.c;
    const int32_t nv = (c_out + FP_OPT_LANES - 1) / FP_OPT_LANES; /* vectors per filter tap */
    const fp_opt_out16_t o = fp_opt_out16(p->output_offset, p->act_min, p->act_max);
    fp_opt_v32 wt[FP_CONV_OPT_HOST_WT_MAX / FP_OPT_LANES];
    fp_opt_rq16_t rq[FP_OPT_HOST_CH_MAX / FP_OPT_LANES];
    int32_t col[FP_CONV_OPT_COL_MAX];
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t k;
    int32_t oc;
    for (k = 0; k < cx->k * nv; ++k) {
        const fp_opt_v32 zero = {0};
        wt[k] = zero; /* the pad lanes of the last vector stay 0 */
    }
    for (oc = 0; oc < c_out; ++oc) {
        for (k = 0; k < cx->k; ++k) {
            wt[k * nv + oc / FP_OPT_LANES][oc % FP_OPT_LANES] = filter[oc * cx->k + k];
        }
    }
    fp_opt_rq16_prepare(&p->requant, bias, c_out, rq);
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&cx->g, oy, ox);
                int8_t *out = output + ((b * p->output.h + oy) * p->output.w + ox) * c_out;
                int32_t v;
                gather32(cx, &win, input, b, col);
                for (v = 0; v < nv; ++v) {
                    const int32_t n = c_out - v * FP_OPT_LANES < FP_OPT_LANES ? c_out - v * FP_OPT_LANES
                                                                                : FP_OPT_LANES;
                    const fp_opt_v32 *w = wt + v;
                    fp_opt_v32 a = {0};
                    for (k = 0; k < cx->k; ++k) {
                        a += w[k * nv] * col[k];
                    }
                    fp_opt_rq16_store(&a, rq + v, &o, out + v * FP_OPT_LANES, n);
                }
            }
        }
    }
}
#endif

/* The reference's loop (int64 window sums) for sums int32 cannot hold. */
static void exact64(const conv_ctx_t *cx, const int8_t *input, const int8_t *filter,
                    const int32_t *bias, int8_t *output)
{
    const fp_conv2d_params_t *p = cx->p;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&cx->g, oy, ox);
                int8_t *out = output + ((b * p->output.h + oy) * p->output.w + ox) * p->output.c;
                for (oc = 0; oc < p->output.c; ++oc) {
                    const int64_t acc = fp_conv2d_window_sum_s8(&cx->g, &win, input, filter + oc * cx->k,
                                                                cx->cg, b, (oc / cx->ocg) * cx->cg,
                                                                p->input_offset);
                    out[oc] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &p->requant, p->output_offset,
                                                       p->act_min, p->act_max);
                }
            }
        }
    }
}

fp_status_t fp_conv2d_s8_opt(const fp_conv2d_params_t *params, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output,
                             void *scratch)
{
    conv_ctx_t cx;
    int8_t col[FP_CONV_OPT_COL_MAX];
    int use_col;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t gi;
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_conv2d_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                  INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    cx.p = params;
    cx.g = fp_conv2d_geom(params);
    cx.cg = params->filter.c;
    cx.ocg = params->output.c / params->groups;
    cx.k = params->filter.h * params->filter.w * params->filter.c;
    (void)scratch; /* fp_conv2d_s8_opt_scratch_size() is 0 */
#if FP_OPT_HOST_SIMD
    if (host_lanes_ok(&cx)) {
        host_lanes(&cx, input, filter, bias, output);
        return FP_OK;
    }
#endif
    if (!fp_opt_sum_fits_s32(cx.k, fp_s8_reach(params->input_offset), 128)) {
        exact64(&cx, input, filter, bias, output);
        return FP_OK;
    }
    use_col = params->input_offset >= -INT8_MAX && params->input_offset <= -INT8_MIN
           && cx.k <= FP_CONV_OPT_COL_MAX;
    for (b = 0; b < params->output.n; ++b) {
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&cx.g, oy, ox);
                int8_t *out = output + ((b * params->output.h + oy) * params->output.w + ox)
                                           * params->output.c;
                for (gi = 0; gi < params->groups; ++gi) {
                    group_pixel(&cx, &win, input, filter, bias, out, b, gi, use_col, col);
                }
            }
        }
    }
    return FP_OK;
}
