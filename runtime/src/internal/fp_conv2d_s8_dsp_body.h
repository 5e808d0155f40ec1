/*
 * fp_conv2d_s8_dsp_body.h - the fast path of fp_conv2d_s8_dsp (static
 * functions; the algorithm is described there), shared by fp_conv2d_s8_dsp
 * and fp_conv2d_s8_dsp_fast. Include after fp_dsp.h inside FP_DSP_AVAILABLE.
 *
 * FP_DSP_FAST_ONLY (define to 1 before including): the caller guarantees
 * fp_dsp_rq_fast_ok (DOUBLE rounding, no left shift), so the epilogue is
 * fp_dsp_apply alone and the generic fp_dsp_out_any is never referenced (nor
 * linked).
 */
#ifndef FP_CONV2D_S8_DSP_BODY_H
#define FP_CONV2D_S8_DSP_BODY_H

#include "fp_conv_common.h"
#include "fp_dsp.h"

#ifndef FP_DSP_FAST_ONLY
#define FP_DSP_FAST_ONLY 0
#endif

typedef struct {
    fp_conv_geom_t g;
    int32_t cg;      /* input channels per group */
    int32_t k;       /* terms per output: k_h * k_w * cg */
    int32_t k4;      /* k / 4 */
    int32_t kt;      /* k % 4 */
    int32_t off2;
    int32_t input_offset;
    int8_t *tmp;     /* one int8 window (cg % 4 != 0 only) */
} conv_ctx_t;

/* The int8 window of output pixel (b, oy, ox), group channels c0.., with the
 * padding value -input_offset (so that padded taps add zero), into c->tmp. */
static void window_s8(const conv_ctx_t *c, const int8_t *input, int32_t b, int32_t oy,
                      int32_t ox, int32_t c0)
{
    const fp_conv_window_t win = fp_conv_window(&c->g, oy, ox);
    const int8_t pad = (int8_t)(-c->input_offset);
    int8_t *dst = c->tmp;
    int32_t ky;
    int32_t kx;
    for (ky = 0; ky < c->g.k_h; ++ky) {
        const int32_t iy = (int32_t)(win.iy0 + (int64_t)ky * c->g.dil_h);
        for (kx = 0; kx < c->g.k_w; ++kx) {
            if (ky >= win.ky0 && ky < win.ky1 && kx >= win.kx0 && kx < win.kx1) {
                const int32_t ix = (int32_t)(win.ix0 + (int64_t)kx * c->g.dil_w);
                memcpy(dst, input + ((b * c->g.in_h + iy) * c->g.in_w + ix) * c->g.in_c + c0,
                       (size_t)c->cg);
            } else {
                memset(dst, pad, (size_t)c->cg);
            }
            dst += c->cg;
        }
    }
}

/* Packs the int8 window src of one pixel as pixel `slot` (0 or 1) of the
 * interleaved column pair at col (layout: fp_dsp_dot_2x2). */
static void pack_interleaved(const conv_ctx_t *c, const int8_t *src, int32_t *col, int32_t slot)
{
    int32_t j;
    for (j = 0; j < c->k4; ++j) {
        const int32_t v = fp_dsp_ld32(src + 4 * j);
        col[4 * j + 2 * slot] = (int32_t)__sxtab16(c->off2, v);
        col[4 * j + 2 * slot + 1] = fp_dsp_sxtab16_ror8(c->off2, v);
    }
    for (j = 0; j < c->kt; ++j) {
        col[4 * c->k4 + 2 * j + slot] = src[4 * c->k4 + j] + c->input_offset;
    }
}

/* Column of one pixel when every tap is a whole number of groups of 4
 * (cg % 4 == 0): packed straight from the input, padded taps zeroed. */
static void pack_taps(const conv_ctx_t *c, const int8_t *input, int32_t b, int32_t oy,
                      int32_t ox, int32_t c0, int32_t *col)
{
    const fp_conv_window_t win = fp_conv_window(&c->g, oy, ox);
    const int32_t words = c->cg / 2; /* words of this pixel per tap */
    int32_t ky;
    int32_t kx;
    int32_t j;
    for (ky = 0; ky < c->g.k_h; ++ky) {
        const int32_t iy = (int32_t)(win.iy0 + (int64_t)ky * c->g.dil_h);
        for (kx = 0; kx < c->g.k_w; ++kx) {
            if (ky >= win.ky0 && ky < win.ky1 && kx >= win.kx0 && kx < win.kx1) {
                const int32_t ix = (int32_t)(win.ix0 + (int64_t)kx * c->g.dil_w);
                const int8_t *src =
                    input + ((b * c->g.in_h + iy) * c->g.in_w + ix) * c->g.in_c + c0;
                for (j = 0; j < c->cg; j += 4) {
                    const int32_t v = fp_dsp_ld32(src + j);
                    col[0] = (int32_t)__sxtab16(c->off2, v);
                    col[1] = fp_dsp_sxtab16_ror8(c->off2, v);
                    col += 4;
                }
            } else {
                for (j = 0; j < words; j += 2) {
                    col[0] = 0;
                    col[1] = 0;
                    col += 4;
                }
            }
        }
    }
}

/* Column words of output pixel pix (flat index over batch, rows, columns)
 * as pixel `slot` (0 or 1) of the interleaved pair at col. */
static void pack_pixel(const conv_ctx_t *c, const fp_conv2d_params_t *p, const int8_t *input,
                       int32_t pix, int32_t c0, int32_t *col, int32_t slot)
{
    const int32_t per_image = p->output.h * p->output.w;
    const int32_t b = pix / per_image;
    const int32_t oy = (pix % per_image) / p->output.w;
    const int32_t ox = pix % p->output.w;
    if (c->cg % 4 == 0) {
        pack_taps(c, input, b, oy, ox, c0, col + 2 * slot);
    } else {
        window_s8(c, input, b, oy, ox, c0);
        pack_interleaved(c, c->tmp, col, slot);
    }
}

/* Pixel slot 1 of the pair at col as a zero column (odd last pixel). */
static void zero_slot1(const conv_ctx_t *c, int32_t *col)
{
    int32_t j;
    for (j = 0; j < c->k4; ++j) {
        col[4 * j + 2] = 0;
        col[4 * j + 3] = 0;
    }
    for (j = 0; j < c->kt; ++j) {
        col[4 * c->k4 + 2 * j + 1] = 0;
    }
}

/* Output channels [oc, oc_end) of the pixel pair whose column pair is col;
 * out0: the first pixel's outputs (the second's follow at + c_out; two == 0:
 * no second pixel). The epilogue constants of a channel serve both pixels.
 * Writes go second pixel first: without a second pixel out1 == out0 and the
 * first pixel's value lands last; an odd last channel (ocb == oc) computes
 * the same sums twice and writes them twice. */
static void channels(const fp_dsp_out_t *o, const int8_t *filter, const conv_ctx_t *c,
                     const int32_t *col, int32_t oc, int32_t oc_end, int8_t *out0,
                     int32_t c_out, int32_t two)
{
    const int32_t off = o->output_offset;
    const int32_t lo = o->act_min;
    const int32_t hi = o->act_max;
    const int32_t fast = FP_DSP_FAST_ONLY || o->fast;
    int8_t *out1 = two ? out0 + c_out : out0; /* no second pixel: written twice, same value */
    for (; oc < oc_end; oc += 2) {
        const int32_t ocb = oc + 1 < oc_end ? oc + 1 : oc;
        int32_t acc[4];
        fp_dsp_dot_2x2(filter + oc * c->k, filter + ocb * c->k, col, c->k4, c->kt, acc);
        if (fast) {
            const fp_dsp_chan_t ca = fp_dsp_chan(o, oc);
            const fp_dsp_chan_t cb = fp_dsp_chan(o, ocb);
            out1[oc] = (int8_t)fp_dsp_apply(&ca, acc[1], off, lo, hi);
            out0[oc] = (int8_t)fp_dsp_apply(&ca, acc[0], off, lo, hi);
            out1[ocb] = (int8_t)fp_dsp_apply(&cb, acc[3], off, lo, hi);
            out0[ocb] = (int8_t)fp_dsp_apply(&cb, acc[2], off, lo, hi);
        } else {
            out1[oc] = (int8_t)fp_dsp_out_any(o, acc[1], oc);
            out0[oc] = (int8_t)fp_dsp_out_any(o, acc[0], oc);
            out1[ocb] = (int8_t)fp_dsp_out_any(o, acc[3], ocb);
            out0[ocb] = (int8_t)fp_dsp_out_any(o, acc[2], ocb);
        }
    }
}

static int32_t *align4(void *p)
{
    return (int32_t *)(((uintptr_t)p + 3u) & ~(uintptr_t)3u);
}

static void run(const fp_conv2d_params_t *p, const int8_t *input, const int8_t *filter,
                const int32_t *bias, int8_t *output, void *scratch)
{
    conv_ctx_t c;
    const fp_dsp_out_t o =
        fp_dsp_out_init(bias, &p->requant, p->output_offset, p->act_min, p->act_max);
    const int32_t c_out = p->output.c;
    const int32_t oc_per_group = c_out / p->groups;
    const int32_t pixels = p->output.n * p->output.h * p->output.w;
    int32_t *col = align4(scratch);
    int32_t pix;
    int32_t grp;
    c.g = fp_conv2d_geom(p);
    c.cg = p->filter.c;
    c.k = p->filter.h * p->filter.w * c.cg;
    c.k4 = c.k / 4;
    c.kt = c.k % 4;
    c.off2 = fp_dsp_off2(p->input_offset);
    c.input_offset = p->input_offset;
    c.tmp = (int8_t *)(col + 4 * c.k4 + 2 * c.kt);
    for (pix = 0; pix < pixels; pix += 2) {
        const int32_t two = pixels - pix >= 2;
        int8_t *out0 = output + pix * c_out;
        for (grp = 0; grp < p->groups; ++grp) {
            const int32_t c0 = grp * c.cg;
            const int32_t oc_end = (grp + 1) * oc_per_group;
            pack_pixel(&c, p, input, pix, c0, col, 0);
            if (two) {
                pack_pixel(&c, p, input, pix + 1, c0, col, 1);
            } else {
                zero_slot1(&c, col);
            }
            channels(&o, filter, &c, col, grp * oc_per_group, oc_end, out0, c_out, two);
        }
    }
}

#endif /* FP_CONV2D_S8_DSP_BODY_H */
