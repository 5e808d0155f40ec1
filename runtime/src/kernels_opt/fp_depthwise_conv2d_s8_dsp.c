/*
 * fp_depthwise_conv2d_s8_dsp - fp_depthwise_conv2d_s8 with the Arm DSP
 * extension, bit-identical to it for every legal input.
 *
 * Depth multiplier 1: four channels at a time; per in-input tap one word of
 * input (SXTAB16 adds the offset to two lanes at once) and one word of
 * weights (SXTB16), multiplied lane by lane with SMLABB / SMLATT into four
 * int32 sums; a full 3-wide window row is unrolled. Tail channels and depth
 * multipliers above 1 run a scalar int32 loop. Padded taps are skipped as in
 * the reference. Epilogue: fp_dsp_out. Input offsets or windows outside
 * fp_dsp_terms_ok run the reference. No scratch.
 * Without the DSP extension this is fp_depthwise_conv2d_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"
#include "../internal/fp_dsp.h"

#if FP_DSP_AVAILABLE

typedef struct {
    fp_conv_geom_t g;
    int32_t c_out;
    int32_t dm;
    int32_t input_offset;
    int32_t off2;
    fp_dsp_out_t o;
} dw_ctx_t;

/* Lane-wise MACs of one tap for channels c..c+3: x and w point at them. */
#define DW_TAP(xp, wp)                                                  \
    do {                                                                \
        const int32_t v_ = fp_dsp_ld32(xp);                             \
        const int32_t w_ = fp_dsp_ld32(wp);                             \
        const int32_t x02_ = (int32_t)__sxtab16(off2, v_);              \
        const int32_t x13_ = fp_dsp_sxtab16_ror8(off2, v_);    \
        const int32_t w02_ = (int32_t)__sxtb16(w_);                     \
        const int32_t w13_ = fp_dsp_sxtb16_ror8(w_);           \
        a0 = __smlabb(x02_, w02_, a0);                                  \
        a2 = __smlatt(x02_, w02_, a2);                                  \
        a1 = __smlabb(x13_, w13_, a1);                                  \
        a3 = __smlatt(x13_, w13_, a3);                                  \
    } while (0)

/* Channels [0, c4) of one output pixel, depth multiplier 1, four at a time.
 * x_pix: the input at the window's first in-input tap; w_pix: its weights. */
__attribute__((noinline)) static void pixel_vec(const dw_ctx_t *d, const fp_conv_window_t *win, const int8_t *x_pix,
                      const int8_t *w_pix, int32_t c4, int8_t *out)
{
    const int32_t rows = win->ky1 - win->ky0;
    const int32_t cols = win->kx1 - win->kx0;
    const int32_t x_col = d->g.dil_w * d->g.in_c;
    const int32_t x_row = d->g.dil_h * d->g.in_w * d->g.in_c;
    const int32_t w_row = d->g.k_w * d->c_out;
    const int32_t c_out = d->c_out;
    const int32_t off2 = d->off2;
    int32_t c;
    for (c = 0; c < c4; c += 4) {
        const int8_t *xr = x_pix + c;
        const int8_t *wr = w_pix + c;
        int32_t a0 = 0;
        int32_t a1 = 0;
        int32_t a2 = 0;
        int32_t a3 = 0;
        int32_t ky;
        int32_t kx;
        for (ky = 0; ky < rows; ++ky) {
            if (cols == 3) {
                DW_TAP(xr, wr);
                DW_TAP(xr + x_col, wr + c_out);
                DW_TAP(xr + 2 * x_col, wr + 2 * c_out);
            } else {
                for (kx = 0; kx < cols; ++kx) {
                    DW_TAP(xr + kx * x_col, wr + kx * c_out);
                }
            }
            xr += x_row;
            wr += w_row;
        }
        out[c] = (int8_t)fp_dsp_out(&d->o, a0, c);
        out[c + 1] = (int8_t)fp_dsp_out(&d->o, a1, c + 1);
        out[c + 2] = (int8_t)fp_dsp_out(&d->o, a2, c + 2);
        out[c + 3] = (int8_t)fp_dsp_out(&d->o, a3, c + 3);
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
        out[oc] = (int8_t)fp_dsp_out(&d->o, acc, oc);
    }
}

static void run(const fp_depthwise_conv2d_params_t *p, const int8_t *input,
                const int8_t *filter, const int32_t *bias, int8_t *output)
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
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&d.g, oy, ox);
                int8_t *out = output + ((b * p->output.h + oy) * p->output.w + ox) * d.c_out;
                const int8_t *x_pix;
                const int8_t *w_pix;
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
                pixel_vec(&d, &win, x_pix, w_pix, c4, out);
                pixel_scalar(&d, &win, x_pix, w_pix, c4, out);
            }
        }
    }
}

fp_status_t fp_depthwise_conv2d_s8_dsp(const fp_depthwise_conv2d_params_t *params,
                                       const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_depthwise_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN,
                                   FP_MAC_S8_INPUT_OFFSET_MAX, INT32_MIN, INT32_MAX, INT8_MIN,
                                   INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (!fp_dsp_terms_ok(params->input_offset, (int64_t)params->filter.h * params->filter.w)) {
        return fp_depthwise_conv2d_s8(params, input, filter, bias, output, scratch);
    }
    run(params, input, filter, bias, output);
    return FP_OK;
}

#else /* no DSP extension: the reference */

fp_status_t fp_depthwise_conv2d_s8_dsp(const fp_depthwise_conv2d_params_t *params,
                                       const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch)
{
    return fp_depthwise_conv2d_s8(params, input, filter, bias, output, scratch);
}

#endif
