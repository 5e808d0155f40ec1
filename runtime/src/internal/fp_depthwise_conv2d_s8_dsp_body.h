/*
 * fp_depthwise_conv2d_s8_dsp_body.h - the fast path of
 * fp_depthwise_conv2d_s8_dsp (static functions; the algorithm is described
 * there), shared by fp_depthwise_conv2d_s8_dsp and
 * fp_depthwise_conv2d_s8_dsp_fast. Include after fp_dsp.h inside
 * FP_DSP_AVAILABLE.
 *
 * FP_DSP_FAST_ONLY (define to 1 before including): the caller guarantees
 * fp_dsp_rq_fast_ok, so the epilogue is fp_dsp_apply alone and the generic
 * fp_dsp_out_any is never referenced (nor linked).
 */
#ifndef FP_DEPTHWISE_CONV2D_S8_DSP_BODY_H
#define FP_DEPTHWISE_CONV2D_S8_DSP_BODY_H

#include "fp_conv_common.h"
#include "fp_dsp.h"

#ifndef FP_DSP_FAST_ONLY
#define FP_DSP_FAST_ONLY 0
#endif

typedef struct {
    fp_conv_geom_t g;
    int32_t c_out;
    int32_t dm;
    int32_t input_offset;
    int32_t off2;
    const int32_t *wpk; /* packed weights: [channel group][tap][(w0,w2), (w1,w3)] */
    const fp_dsp_chan_t *chan; /* epilogue constants of channels [0, c4) (o.fast) */
    fp_dsp_out_t o;
} dw_ctx_t;

/* Lane-wise MACs of one tap for channels c..c+3: xp points at the input,
 * wp at the tap's two packed weight words. */
#define DW_TAP(xp, wp)                                                  \
    do {                                                                \
        const int32_t v_ = fp_dsp_ld32(xp);                             \
        const int32_t x02_ = (int32_t)__sxtab16(off2, v_);              \
        const int32_t x13_ = fp_dsp_sxtab16_ror8(off2, v_);             \
        a0 = __smlabb(x02_, (wp)[0], a0);                               \
        a2 = __smlatt(x02_, (wp)[0], a2);                               \
        a1 = __smlabb(x13_, (wp)[1], a1);                               \
        a3 = __smlatt(x13_, (wp)[1], a3);                               \
    } while (0)

/* Packs the weights of channels [0, c4) (depth multiplier 1) for DW_TAP. */
static void pack_weights(const dw_ctx_t *d, const int8_t *filter, int32_t c4, int32_t *wpk)
{
    const int32_t taps = d->g.k_h * d->g.k_w;
    int32_t c;
    int32_t t;
    for (c = 0; c < c4; c += 4) {
        for (t = 0; t < taps; ++t) {
            const int32_t v = fp_dsp_ld32(filter + t * d->c_out + c);
            wpk[0] = (int32_t)__sxtb16(v);
            wpk[1] = fp_dsp_sxtb16_ror8(v);
            wpk += 2;
        }
    }
}

/* Three taps of one window row for channels c..c+3 (DW_ROW3 in the
 * assembly below): input words at x, x + col, x + col2; packed weights
 * post-incremented at w. */
#define DW_ASM_TAP(XOFF)                                                       \
    "ldr %[v], [%[x]" XOFF "]\n\t"                                             \
    "sxtab16 %[t], %[off2], %[v], ror #8\n\t"                                  \
    "sxtab16 %[v], %[off2], %[v]\n\t"                                          \
    "ldrd %[w0], %[w1], [%[w]], #8\n\t"                                        \
    "smlabb %[a0], %[v], %[w0], %[a0]\n\t"                                     \
    "smlatt %[a2], %[v], %[w0], %[a2]\n\t"                                     \
    "smlabb %[a1], %[t], %[w1], %[a1]\n\t"                                     \
    "smlatt %[a3], %[t], %[w1], %[a3]\n\t"
#define DW_ASM_ROW DW_ASM_TAP("") DW_ASM_TAP(", %[col]") DW_ASM_TAP(", %[col2]")

/* The four sums of channels c..c+3 over a full 3x3 window (dilation folded
 * into col / row): x at the window's top-left input, w at the group's 9
 * packed taps. 8 instructions per tap of 4 MACs; assembly because the loop
 * needs 14 registers. */
__attribute__((always_inline)) static inline void sums_3x3(const int8_t *x, const int32_t *w, int32_t col,
                                               int32_t row, int32_t off2, int32_t acc[4])
{
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t a2 = 0;
    int32_t a3 = 0;
#if FP_DSP_ASM
    int32_t v;
    int32_t t;
    int32_t w0;
    int32_t w1;
    const int32_t col2 = 2 * col;
    __asm__ volatile(
        DW_ASM_ROW
        "add %[x], %[x], %[row]\n\t"
        DW_ASM_ROW
        "add %[x], %[x], %[row]\n\t"
        DW_ASM_ROW
        : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [x] "+r"(x), [w] "+r"(w),
          [v] "=&r"(v), [t] "=&r"(t), [w0] "=&r"(w0), [w1] "=&r"(w1)
        : [col] "r"(col), [col2] "r"(col2), [row] "r"(row), [off2] "r"(off2)
        : "memory");
#else
    int32_t ky;
    int32_t kx;
    for (ky = 0; ky < 3; ++ky) {
        for (kx = 0; kx < 3; ++kx) {
            DW_TAP(x + kx * col, w + 2 * kx);
        }
        x += row;
        w += 6;
    }
#endif
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* Channels [0, c4) of one output pixel, depth multiplier 1, four at a time.
 * x_pix: the input at the window's first in-input tap (ky0, kx0). */
__attribute__((noinline)) static void pixel_vec(const dw_ctx_t *d, const fp_conv_window_t *win,
                                                const int8_t *x_pix, int32_t c4, int8_t *out)
{
    const int32_t rows = win->ky1 - win->ky0;
    const int32_t cols = win->kx1 - win->kx0;
    const int32_t x_col = d->g.dil_w * d->g.in_c;
    const int32_t x_row = d->g.dil_h * d->g.in_w * d->g.in_c;
    const int32_t taps = d->g.k_h * d->g.k_w;
    const int32_t w_first = 2 * (win->ky0 * d->g.k_w + win->kx0);
    const int32_t w_row = 2 * d->g.k_w;
    const int32_t off2 = d->off2;
    const int32_t off = d->o.output_offset;
    const int32_t lo = d->o.act_min;
    const int32_t hi = d->o.act_max;
    const int32_t fast = FP_DSP_FAST_ONLY || d->o.fast;
    const int32_t full3 = rows == 3 && cols == 3 && taps == 9;
    const int32_t *wg = d->wpk + w_first;
    int32_t c;
    int32_t k;
    for (c = 0; c < c4; c += 4) {
        int32_t acc[4];
        if (full3) {
            sums_3x3(x_pix + c, wg, x_col, x_row, off2, acc);
        } else {
            const int8_t *xr = x_pix + c;
            const int32_t *wr = wg;
            int32_t a0 = 0;
            int32_t a1 = 0;
            int32_t a2 = 0;
            int32_t a3 = 0;
            int32_t ky;
            int32_t kx;
            for (ky = 0; ky < rows; ++ky) {
                for (kx = 0; kx < cols; ++kx) {
                    DW_TAP(xr + kx * x_col, wr + 2 * kx);
                }
                xr += x_row;
                wr += w_row;
            }
            acc[0] = a0;
            acc[1] = a1;
            acc[2] = a2;
            acc[3] = a3;
        }
        wg += 2 * taps;
        if (fast) {
            const fp_dsp_chan_t *ch = d->chan + c;
            out[c] = (int8_t)fp_dsp_apply(ch, acc[0], off, lo, hi);
            out[c + 1] = (int8_t)fp_dsp_apply(ch + 1, acc[1], off, lo, hi);
            out[c + 2] = (int8_t)fp_dsp_apply(ch + 2, acc[2], off, lo, hi);
            out[c + 3] = (int8_t)fp_dsp_apply(ch + 3, acc[3], off, lo, hi);
        } else {
            for (k = 0; k < 4; ++k) {
                out[c + k] = (int8_t)fp_dsp_out_any(&d->o, acc[k], c + k);
            }
        }
    }
}

/* Output channels [oc0, c_out) of one pixel, one at a time (any multiplier). */
static void pixel_scalar(const dw_ctx_t *d, const fp_conv_window_t *win, const int8_t *x_pix,
                         const int8_t *w_pix, int32_t oc0, int8_t *out)
{
    const int32_t rows = win->ky1 - win->ky0;
    const int32_t cols = win->kx1 - win->kx0;
    const int32_t x_col = d->g.dil_w * d->g.in_c;
    const int32_t x_row = d->g.dil_h * d->g.in_w * d->g.in_c;
    const int32_t w_row = d->g.k_w * d->c_out;
    int32_t oc;
    for (oc = oc0; oc < d->c_out; ++oc) {
        const int8_t *xr = x_pix + oc / d->dm;
        const int8_t *wr = w_pix + oc;
        int32_t acc = 0;
        int32_t ky;
        int32_t kx;
        for (ky = 0; ky < rows; ++ky) {
            for (kx = 0; kx < cols; ++kx) {
                acc += (xr[kx * x_col] + d->input_offset) * wr[kx * d->c_out];
            }
            xr += x_row;
            wr += w_row;
        }
        out[oc] = (int8_t)(FP_DSP_FAST_ONLY ? fp_dsp_out_fast(&d->o, acc, oc)
                                            : fp_dsp_out(&d->o, acc, oc));
    }
}

static void run(const fp_depthwise_conv2d_params_t *p, const int8_t *input,
                const int8_t *filter, const int32_t *bias, int8_t *output, void *scratch)
{
    dw_ctx_t d;
    const int32_t c4 = p->depth_multiplier == 1 ? p->output.c & ~3 : 0;
    int32_t b;
    int32_t oy;
    int32_t ox;
    d.g = fp_depthwise_geom(p);
    d.c_out = p->output.c;
    d.dm = p->depth_multiplier;
    d.input_offset = p->input_offset;
    d.off2 = fp_dsp_off2(p->input_offset);
    d.o = fp_dsp_out_init(bias, &p->requant, p->output_offset, p->act_min, p->act_max);
    d.wpk = NULL;
    d.chan = NULL;
    if (c4 > 0) {
        int32_t *wpk = (int32_t *)(((uintptr_t)scratch + 3u) & ~(uintptr_t)3u);
        fp_dsp_chan_t *chan = (fp_dsp_chan_t *)(wpk + c4 / 2 * p->filter.h * p->filter.w);
        int32_t c;
        pack_weights(&d, filter, c4, wpk);
        for (c = 0; (FP_DSP_FAST_ONLY || d.o.fast) && c < c4; ++c) {
            chan[c] = fp_dsp_chan(&d.o, c);
        }
        d.wpk = wpk;
        d.chan = chan;
    }
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            /* the row taps once per output row, the column taps per pixel */
            fp_conv_window_t win;
            win.iy0 = (int64_t)oy * d.g.stride_h - d.g.pad_top;
            fp_conv_taps(win.iy0, d.g.k_h, d.g.dil_h, d.g.in_h, &win.ky0, &win.ky1);
            for (ox = 0; ox < p->output.w; ++ox) {
                int8_t *out = output + ((b * p->output.h + oy) * p->output.w + ox) * d.c_out;
                const int8_t *x_pix;
                const int8_t *w_pix;
                win.ix0 = (int64_t)ox * d.g.stride_w - d.g.pad_left;
                fp_conv_taps(win.ix0, d.g.k_w, d.g.dil_w, d.g.in_w, &win.kx0, &win.kx1);
                if (win.ky0 >= win.ky1 || win.kx0 >= win.kx1) {
                    /* no tap in the input: every sum is 0 */
                    pixel_scalar(&d, &win, input, filter, 0, out);
                    continue;
                }
                x_pix = input
                      + ((b * d.g.in_h + (int32_t)(win.iy0 + (int64_t)win.ky0 * d.g.dil_h))
                             * d.g.in_w
                         + (int32_t)(win.ix0 + (int64_t)win.kx0 * d.g.dil_w))
                            * d.g.in_c;
                w_pix = filter + (win.ky0 * d.g.k_w + win.kx0) * d.c_out;
                if (c4 > 0) {
                    pixel_vec(&d, &win, x_pix, c4, out);
                }
                if (c4 < d.c_out) {
                    pixel_scalar(&d, &win, x_pix, w_pix, c4, out);
                }
            }
        }
    }
}

#endif /* FP_DEPTHWISE_CONV2D_S8_DSP_BODY_H */
