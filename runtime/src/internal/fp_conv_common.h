/*
 * fp_conv_common.h - parameter checks and window geometry shared by the
 * conv2d and depthwise conv2d kernels (s8, s4, s16), and the int8-input
 * window sum of conv2d (s8 and s4 run it on int8 / unpacked int4 weights).
 *
 * Output (oy, ox) reads input rows iy = oy*stride_h - pad_top + ky*dilation_h
 * (same for columns); taps outside the input are skipped (padding is real
 * zero). Since dilation >= 1 the coordinate increases with the tap index, so
 * the in-input taps form one range per axis, computed once per output pixel.
 */
#ifndef FP_CONV_COMMON_H
#define FP_CONV_COMMON_H

#include "fp_types.h"
#include "fp_mac_common.h"

/* Element count, or -1 if a dim is not positive or the count exceeds
 * INT32_MAX (so every index the kernels compute fits an int32_t). */
static inline int32_t fp_conv_count4(const fp_dims_t *d)
{
    int64_t c;
    if (d->n <= 0 || d->h <= 0 || d->w <= 0 || d->c <= 0) {
        return -1;
    }
    c = (int64_t)d->n * d->h;
    c = c > INT32_MAX ? -1 : c * d->w;
    c = (c < 0 || c > INT32_MAX) ? -1 : c * d->c;
    return (c < 0 || c > INT32_MAX) ? -1 : (int32_t)c;
}

/* Spatial geometry common to conv2d and depthwise conv2d params. */
typedef struct {
    int32_t in_h, in_w, in_c;
    int32_t k_h, k_w;
    int32_t stride_h, stride_w, dil_h, dil_w, pad_top, pad_left;
} fp_conv_geom_t;

static inline fp_conv_geom_t fp_conv_geom(const fp_dims_t *in, const fp_dims_t *f,
                                          int32_t stride_h, int32_t stride_w, int32_t dil_h,
                                          int32_t dil_w, int32_t pad_top, int32_t pad_left)
{
    fp_conv_geom_t g;
    g.in_h = in->h;
    g.in_w = in->w;
    g.in_c = in->c;
    g.k_h = f->h;
    g.k_w = f->w;
    g.stride_h = stride_h;
    g.stride_w = stride_w;
    g.dil_h = dil_h;
    g.dil_w = dil_w;
    g.pad_top = pad_top;
    g.pad_left = pad_left;
    return g;
}

static inline fp_conv_geom_t fp_conv2d_geom(const fp_conv2d_params_t *p)
{
    return fp_conv_geom(&p->input, &p->filter, p->stride_h, p->stride_w, p->dilation_h,
                        p->dilation_w, p->pad_top, p->pad_left);
}

static inline fp_conv_geom_t fp_depthwise_geom(const fp_depthwise_conv2d_params_t *p)
{
    return fp_conv_geom(&p->input, &p->filter, p->stride_h, p->stride_w, p->dilation_h,
                        p->dilation_w, p->pad_top, p->pad_left);
}

/* Checks shared by conv2d and depthwise: the three shapes, strides,
 * dilations, paddings. */
static inline int fp_conv_geom_ok(const fp_dims_t *in, const fp_dims_t *f, const fp_dims_t *out,
                                  const fp_conv_geom_t *g)
{
    if (fp_conv_count4(in) < 0 || fp_conv_count4(f) < 0 || fp_conv_count4(out) < 0) {
        return 0;
    }
    return g->stride_h >= 1 && g->stride_w >= 1 && g->dil_h >= 1 && g->dil_w >= 1
        && g->pad_top >= 0 && g->pad_left >= 0;
}

/* conv2d params legal for a datapath: offsets in [in_lo, in_hi] /
 * [out_lo, out_hi], activations in [act_lo, act_hi], acc64 as for
 * fp_requant_legal. */
static inline int fp_conv2d_params_ok(const fp_conv2d_params_t *p, int32_t in_lo, int32_t in_hi,
                                      int32_t out_lo, int32_t out_hi, int32_t act_lo,
                                      int32_t act_hi, int acc64)
{
    const fp_dims_t *in = &p->input;
    const fp_dims_t *f = &p->filter;
    const fp_dims_t *out = &p->output;
    const fp_conv_geom_t g = fp_conv2d_geom(p);
    if (!fp_conv_geom_ok(in, f, out, &g)) {
        return 0;
    }
    if (out->n != in->n || out->c != f->n || p->groups < 1 || in->c % p->groups != 0
        || f->n % p->groups != 0 || f->c != in->c / p->groups) {
        return 0;
    }
    if (!fp_mac_ranges_ok(p->input_offset, p->output_offset, p->act_min, p->act_max, in_lo,
                          in_hi, out_lo, out_hi, act_lo, act_hi)) {
        return 0;
    }
    return fp_requant_legal(&p->requant, f->n, acc64);
}

/* depthwise conv2d params legal for a datapath (arguments as above). */
static inline int fp_depthwise_params_ok(const fp_depthwise_conv2d_params_t *p, int32_t in_lo,
                                         int32_t in_hi, int32_t out_lo, int32_t out_hi,
                                         int32_t act_lo, int32_t act_hi, int acc64)
{
    const fp_dims_t *in = &p->input;
    const fp_dims_t *f = &p->filter;
    const fp_dims_t *out = &p->output;
    const fp_conv_geom_t g = fp_depthwise_geom(p);
    if (!fp_conv_geom_ok(in, f, out, &g)) {
        return 0;
    }
    if (p->depth_multiplier < 1 || f->n != 1 || out->n != in->n || out->c != f->c
        || (int64_t)in->c * p->depth_multiplier != (int64_t)f->c) {
        return 0;
    }
    if (!fp_mac_ranges_ok(p->input_offset, p->output_offset, p->act_min, p->act_max, in_lo,
                          in_hi, out_lo, out_hi, act_lo, act_hi)) {
        return 0;
    }
    return fp_requant_legal(&p->requant, f->c, acc64);
}

/* In-input taps of output pixel (oy, ox): [ky0, ky1) x [kx0, kx1); tap
 * (ky, kx) reads input row iy0 + ky*dil_h and column ix0 + kx*dil_w, which
 * then lie in the input, hence fit int32. */
typedef struct {
    int32_t ky0, ky1, kx0, kx1;
    int64_t iy0, ix0;
} fp_conv_window_t;

/* Taps t in [0, k) with i0 + t*dil in [0, n): skip the leading taps before
 * the input, stop at the first one past it (exactly the taps the
 * skip / break loop of a direct convolution visits). int64: i0 + t*dil may
 * lie far outside the int32 range. */
static inline void fp_conv_taps(int64_t i0, int32_t k, int32_t dil, int32_t n, int32_t *lo,
                                int32_t *hi)
{
    int32_t t = 0;
    while (t < k && i0 + (int64_t)t * dil < 0) {
        ++t;
    }
    *lo = t;
    while (t < k && i0 + (int64_t)t * dil < n) {
        ++t;
    }
    *hi = t;
}

static inline fp_conv_window_t fp_conv_window(const fp_conv_geom_t *g, int32_t oy, int32_t ox)
{
    fp_conv_window_t win;
    win.iy0 = (int64_t)oy * g->stride_h - g->pad_top;
    win.ix0 = (int64_t)ox * g->stride_w - g->pad_left;
    fp_conv_taps(win.iy0, g->k_h, g->dil_h, g->in_h, &win.ky0, &win.ky1);
    fp_conv_taps(win.ix0, g->k_w, g->dil_w, g->in_w, &win.kx0, &win.kx1);
    return win;
}

/* conv2d, int8 input: exact sum over the window of batch b for one output
 * channel whose OHWI filter is w (cg channels per tap) and whose group's
 * inputs start at channel c0. Used by fp_conv2d_s8 and fp_conv2d_s4. */
static inline int64_t fp_conv2d_window_sum_s8(const fp_conv_geom_t *g, const fp_conv_window_t *win,
                                              const int8_t *input, const int8_t *w, int32_t cg,
                                              int32_t b, int32_t c0, int32_t input_offset)
{
    int64_t acc = 0;
    int32_t ky;
    int32_t kx;
    for (ky = win->ky0; ky < win->ky1; ++ky) {
        const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
        for (kx = win->kx0; kx < win->kx1; ++kx) {
            const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
            const int8_t *x = input + ((b * g->in_h + iy) * g->in_w + ix) * g->in_c + c0;
            acc += fp_mac_dot_s8(x, w + (ky * g->k_w + kx) * cg, cg, input_offset);
        }
    }
    return acc;
}

/* conv2d, int16 input (s16 and s16_acc32): exact sum over the window of
 * batch b for one output channel whose OHWI filter is w (cg channels per
 * tap) and whose group's inputs start at channel c0. */
static inline int64_t fp_conv2d_window_sum_s16(const fp_conv_geom_t *g, const fp_conv_window_t *win,
                                               const int16_t *input, const int8_t *w, int32_t cg,
                                               int32_t b, int32_t c0)
{
    int64_t acc = 0;
    int32_t ky;
    int32_t kx;
    for (ky = win->ky0; ky < win->ky1; ++ky) {
        const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
        for (kx = win->kx0; kx < win->kx1; ++kx) {
            const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
            const int16_t *x = input + ((b * g->in_h + iy) * g->in_w + ix) * g->in_c + c0;
            acc += fp_mac_dot_s16(x, w + (ky * g->k_w + kx) * cg, cg);
        }
    }
    return acc;
}

/* depthwise conv2d, int16 input (s16 and s16_acc32): exact sum over the
 * window of batch b for output channel oc, which reads input channel ic
 * (int64 per term, |term| <= 2^22). */
static inline int64_t fp_depthwise_window_sum_s16(const fp_conv_geom_t *g,
                                                  const fp_conv_window_t *win,
                                                  const int16_t *input, const int8_t *filter,
                                                  int32_t c_out, int32_t b, int32_t ic, int32_t oc)
{
    int64_t acc = 0;
    int32_t ky;
    int32_t kx;
    for (ky = win->ky0; ky < win->ky1; ++ky) {
        const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
        const int16_t *x_row = input + (b * g->in_h + iy) * g->in_w * g->in_c + ic;
        for (kx = win->kx0; kx < win->kx1; ++kx) {
            const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
            acc += (int32_t)x_row[ix * g->in_c] * (int32_t)filter[(ky * g->k_w + kx) * c_out + oc];
        }
    }
    return acc;
}

#endif /* FP_CONV_COMMON_H */
