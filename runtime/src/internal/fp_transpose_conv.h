/*
 * fp_transpose_conv.h - parameter check and the per-output gather of the
 * transposed convolution kernels (s8, s4, s16), groups included.
 *
 * TFLite's reference TransposeConv scatters every input pixel times the
 * filter into an int32 / int64 scratch, then requantizes it per channel. The
 * kernels here gather instead: output (oy, ox) sums the taps with
 * oy + pad_top = iy * stride_h + ky * dilation_h. The sums are exact in int64
 * (integer addition does not depend on the order), so each output is the
 * same number as TFLite's accumulator before the same epilogue (bias,
 * requantization, offset, clamp; fp_mac_common.h), without the scratch.
 */
#ifndef FP_TRANSPOSE_CONV_H
#define FP_TRANSPOSE_CONV_H

#include "fp_types.h"
#include "fp_conv_common.h"

static inline fp_conv_geom_t fp_transpose_conv_geom(const fp_transpose_conv2d_params_t *p)
{
    return fp_conv_geom(&p->input, &p->filter, p->stride_h, p->stride_w, p->dilation_h,
                        p->dilation_w, p->pad_top, p->pad_left);
}

/* Params legal for a datapath (arguments as fp_conv2d_params_ok). */
static inline int fp_transpose_conv2d_params_ok(const fp_transpose_conv2d_params_t *p, int32_t in_lo,
                                                int32_t in_hi, int32_t out_lo, int32_t out_hi,
                                                int32_t act_lo, int32_t act_hi, int acc64)
{
    const fp_conv_geom_t g = fp_transpose_conv_geom(p);
    if (!fp_conv_geom_ok(&p->input, &p->filter, &p->output, &g)) {
        return 0;
    }
    if (p->output.n != p->input.n || p->output.c != p->filter.n || p->groups < 1 || p->input.c % p->groups != 0
        || p->filter.n % p->groups != 0 || p->filter.c != p->input.c / p->groups) {
        return 0;
    }
    if (!fp_mac_ranges_ok(p->input_offset, p->output_offset, p->act_min, p->act_max, in_lo, in_hi,
                          out_lo, out_hi, act_lo, act_hi)) {
        return 0;
    }
    return fp_requant_legal(&p->requant, p->filter.n, acc64);
}

/* The input coordinate that filter tap k sends to output coordinate o, or -1:
 * o + pad = i * stride + k * dil with 0 <= i < n (int64: no overflow). */
static inline int32_t fp_transpose_conv_src(int32_t o, int32_t pad, int32_t k, int32_t dil,
                                            int32_t stride, int32_t n)
{
    const int64_t t = (int64_t)o + pad - (int64_t)k * dil;
    if (t < 0 || t % stride != 0 || t / stride >= n) {
        return -1;
    }
    return (int32_t)(t / stride);
}

/* Flat NHWC index of the first channel of the input pixel that tap (ky, kx)
 * sends to output (b, oy, ox), or -1 if none. */
static inline int32_t fp_transpose_conv_pixel(const fp_conv_geom_t *g, int32_t b, int32_t oy, int32_t ox,
                                              int32_t ky, int32_t kx)
{
    const int32_t iy = fp_transpose_conv_src(oy, g->pad_top, ky, g->dil_h, g->stride_h, g->in_h);
    const int32_t ix = fp_transpose_conv_src(ox, g->pad_left, kx, g->dil_w, g->stride_w, g->in_w);
    if (iy < 0 || ix < 0) {
        return -1;
    }
    return ((b * g->in_h + iy) * g->in_w + ix) * g->in_c;
}

/* The first input channel of output channel oc's group: the filter's C_in
 * (per group) times the group index oc / (C_out / groups). */
static inline int32_t fp_transpose_conv_c0(const fp_transpose_conv2d_params_t *p, int32_t oc)
{
    return oc / (p->filter.n / p->groups) * p->filter.c;
}

/* int8 input (s8, s4): exact sum for output (b, oy, ox) of the channel whose
 * HWI filter is w ([KH, KW, cg]), over input channels c0 .. c0 + cg - 1. */
static inline int64_t fp_transpose_conv_sum_s8(const fp_conv_geom_t *g, const int8_t *input, const int8_t *w,
                                               int32_t b, int32_t oy, int32_t ox, int32_t c0, int32_t cg,
                                               int32_t input_offset)
{
    int64_t acc = 0;
    int32_t ky, kx;
    for (ky = 0; ky < g->k_h; ++ky) {
        for (kx = 0; kx < g->k_w; ++kx) {
            const int32_t i = fp_transpose_conv_pixel(g, b, oy, ox, ky, kx);
            if (i >= 0) {
                acc += fp_mac_dot_s8(input + i + c0, w + (ky * g->k_w + kx) * cg, cg, input_offset);
            }
        }
    }
    return acc;
}

/* int16 input (s16): exact sum for output (b, oy, ox) of the channel whose
 * HWI filter is w ([KH, KW, cg]), over input channels c0 .. c0 + cg - 1. */
static inline int64_t fp_transpose_conv_sum_s16(const fp_conv_geom_t *g, const int16_t *input,
                                                const int8_t *w, int32_t b, int32_t oy, int32_t ox, int32_t c0,
                                                int32_t cg)
{
    int64_t acc = 0;
    int32_t ky, kx;
    for (ky = 0; ky < g->k_h; ++ky) {
        for (kx = 0; kx < g->k_w; ++kx) {
            const int32_t i = fp_transpose_conv_pixel(g, b, oy, ox, ky, kx);
            if (i >= 0) {
                acc += fp_mac_dot_s16(input + i + c0, w + (ky * g->k_w + kx) * cg, cg);
            }
        }
    }
    return acc;
}

#endif /* FP_TRANSPOSE_CONV_H */
