/*
 * fp_depthwise_conv2d_s16 - int16 x int8 depthwise convolution (TFLite 16x8):
 * NHWC input with zero point 0, filter [1, KH, KW, C_out] int8, int64 bias,
 * int64 accumulator, C_out = C_in * depth_multiplier.
 *
 *   acc[b,oy,ox,oc] = bias[oc] + sum_{ky,kx} x[b,iy,ix,ic] * w[ky,kx,oc]
 *   oc = ic * depth_multiplier + m, iy = oy*stride_h - pad_top + ky*dilation_h
 * Taps outside the input are skipped. input_offset and output_offset must be
 * 0. The sum is exact (|sum| < 2^54); the bias is first clamped to +-2^62,
 * which cannot change the result because fp_requant64 saturates the
 * accumulator to [-2^47, 2^47). Parameter ranges: docs/kernels.md.
 */
#include "fp_runtime.h"
#include "../internal/fp_requant.h"

/* Element count, or -1 if a dim is not positive or the count exceeds
 * INT32_MAX (so every index computed below fits an int32_t). */
static int32_t count4(const fp_dims_t *d)
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

static int params_ok(const fp_depthwise_conv2d_params_t *p)
{
    const fp_dims_t *in = &p->input;
    const fp_dims_t *f = &p->filter;
    const fp_dims_t *out = &p->output;
    if (count4(in) < 0 || count4(f) < 0 || count4(out) < 0) {
        return 0;
    }
    if (p->depth_multiplier < 1 || f->n != 1 || out->n != in->n || out->c != f->c
        || (int64_t)in->c * p->depth_multiplier != (int64_t)f->c) {
        return 0;
    }
    if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1
        || p->pad_top < 0 || p->pad_left < 0) {
        return 0;
    }
    if (p->input_offset != 0 || p->output_offset != 0) {
        return 0;
    }
    if (p->act_min > p->act_max || p->act_min < INT16_MIN || p->act_max > INT16_MAX) {
        return 0;
    }
    return fp_requant_legal(&p->requant, f->c, 1);
}

/* Exact sum over the receptive field of output (b, oy, ox, oc), which reads
 * input channel ic. */
static int64_t window_sum(const fp_depthwise_conv2d_params_t *p, const int16_t *input,
                          const int8_t *w, int32_t b, int32_t oy, int32_t ox, int32_t ic,
                          int32_t oc)
{
    const int32_t in_h = p->input.h;
    const int32_t in_w = p->input.w;
    const int32_t in_c = p->input.c;
    const int32_t c_out = p->filter.c;
    const int64_t iy0 = (int64_t)oy * p->stride_h - p->pad_top;
    const int64_t ix0 = (int64_t)ox * p->stride_w - p->pad_left;
    int64_t acc = 0;
    int32_t ky;
    for (ky = 0; ky < p->filter.h; ++ky) {
        const int64_t iy = iy0 + (int64_t)ky * p->dilation_h;
        int32_t kx;
        if (iy < 0) {
            continue;
        }
        if (iy >= in_h) {
            break;
        }
        for (kx = 0; kx < p->filter.w; ++kx) {
            const int64_t ix = ix0 + (int64_t)kx * p->dilation_w;
            const int16_t *x;
            if (ix < 0) {
                continue;
            }
            if (ix >= in_w) {
                break;
            }
            x = input + ((b * in_h + (int32_t)iy) * in_w + (int32_t)ix) * in_c + ic;
            acc += (int32_t)x[0] * (int32_t)w[(ky * p->filter.w + kx) * c_out + oc];
        }
    }
    return acc;
}

fp_status_t fp_depthwise_conv2d_s16(const fp_depthwise_conv2d_params_t *params,
                                    const int16_t *input, const int8_t *filter,
                                    const int64_t *bias, int16_t *output, void *scratch)
{
    const fp_requant_t *rq;
    int32_t c_out;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    (void)scratch; /* fp_depthwise_conv2d_s16_scratch_size() is 0 */
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !params_ok(params)) {
        return FP_ERR_ARG;
    }
    rq = &params->requant;
    c_out = params->output.c;
    for (b = 0; b < params->output.n; ++b) {
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                int16_t *out = output + ((b * params->output.h + oy) * params->output.w + ox) * c_out;
                for (oc = 0; oc < c_out; ++oc) {
                    const int32_t ic = oc / params->depth_multiplier;
                    const int32_t i = rq->n == 1 ? 0 : oc;
                    int64_t acc = window_sum(params, input, filter, b, oy, ox, ic, oc);
                    int32_t r;
                    if (bias != NULL) {
                        acc += fp_sat_s64_range(bias[oc], -((int64_t)1 << 62), (int64_t)1 << 62);
                    }
                    r = fp_requant64(acc, rq->multiplier[i], rq->shift[i], rq->mode);
                    out[oc] = (int16_t)fp_clamp_s32(r, params->act_min, params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
