/*
 * fp_conv2d_s8 - int8 2-D convolution: NHWC input, OHWI filter, int32 bias.
 *
 *   acc[b,oy,ox,oc] = bias[oc] + sum_{ky,kx,c} (x[b,iy,ix,g*Cg+c] + input_offset) * w[oc,ky,kx,c]
 *   iy = oy*stride_h - pad_top + ky*dilation_h (same for x), g = oc / (C_out/groups)
 * Taps outside the input are skipped: padding is real zero. The sum is exact
 * in int64 and saturated to int32 before requantization (TFLite assumes it
 * never overflows). Parameter ranges: docs/kernels.md.
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

static int params_ok(const fp_conv2d_params_t *p)
{
    const fp_dims_t *in = &p->input;
    const fp_dims_t *f = &p->filter;
    const fp_dims_t *out = &p->output;
    if (count4(in) < 0 || count4(f) < 0 || count4(out) < 0) {
        return 0;
    }
    if (out->n != in->n || out->c != f->n || p->groups < 1 || in->c % p->groups != 0
        || f->n % p->groups != 0 || f->c != in->c / p->groups) {
        return 0;
    }
    if (p->stride_h < 1 || p->stride_w < 1 || p->dilation_h < 1 || p->dilation_w < 1
        || p->pad_top < 0 || p->pad_left < 0) {
        return 0;
    }
    if (p->input_offset < -127 || p->input_offset > 128 || p->output_offset < -128
        || p->output_offset > 127) {
        return 0;
    }
    if (p->act_min > p->act_max || p->act_min < INT8_MIN || p->act_max > INT8_MAX) {
        return 0;
    }
    return fp_requant_legal(&p->requant, f->n, 0);
}

/* Exact sum over the receptive field of output (b, oy, ox) for one output
 * channel whose filter is w and whose group's inputs start at channel c0. */
static int64_t window_sum(const fp_conv2d_params_t *p, const int8_t *input, const int8_t *w,
                          int32_t b, int32_t oy, int32_t ox, int32_t c0)
{
    const int32_t in_h = p->input.h;
    const int32_t in_w = p->input.w;
    const int32_t in_c = p->input.c;
    const int32_t cg = p->filter.c;
    const int64_t iy0 = (int64_t)oy * p->stride_h - p->pad_top;
    const int64_t ix0 = (int64_t)ox * p->stride_w - p->pad_left;
    const int32_t input_offset = p->input_offset;
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
            const int8_t *x;
            const int8_t *wk;
            int32_t c;
            if (ix < 0) {
                continue;
            }
            if (ix >= in_w) {
                break;
            }
            x = input + ((b * in_h + (int32_t)iy) * in_w + (int32_t)ix) * in_c + c0;
            wk = w + (ky * p->filter.w + kx) * cg;
            for (c = 0; c < cg;) {
                /* |term| <= 255 * 128, so a block of FP_MAC_BLOCK terms fits int32:
                 * 32-bit multiply-accumulate in the hot loop, exact int64 across blocks. */
                const int32_t end = cg - c > FP_MAC_BLOCK ? c + FP_MAC_BLOCK : cg;
                int32_t part = 0;
                for (; c < end; ++c) {
                    part += (x[c] + input_offset) * (int32_t)wk[c];
                }
                acc += part;
            }
        }
    }
    return acc;
}

fp_status_t fp_conv2d_s8(const fp_conv2d_params_t *params, const int8_t *input,
                         const int8_t *filter, const int32_t *bias, int8_t *output,
                         void *scratch)
{
    const fp_requant_t *rq;
    int32_t c_out;
    int32_t oc_per_group;
    int32_t filter_per_oc;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    (void)scratch; /* fp_conv2d_s8_scratch_size() is 0 */
    if (params == NULL || input == NULL || filter == NULL || output == NULL || !params_ok(params)) {
        return FP_ERR_ARG;
    }
    rq = &params->requant;
    c_out = params->output.c;
    oc_per_group = c_out / params->groups;
    filter_per_oc = params->filter.h * params->filter.w * params->filter.c;
    for (b = 0; b < params->output.n; ++b) {
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                int8_t *out = output + ((b * params->output.h + oy) * params->output.w + ox) * c_out;
                for (oc = 0; oc < c_out; ++oc) {
                    const int32_t c0 = (oc / oc_per_group) * params->filter.c;
                    const int32_t i = rq->n == 1 ? 0 : oc;
                    int64_t acc = window_sum(params, input, filter + oc * filter_per_oc, b, oy, ox, c0);
                    int32_t r;
                    acc += bias != NULL ? bias[oc] : 0;
                    r = fp_requant32(fp_sat_s32(acc), rq->multiplier[i], rq->shift[i], rq->mode);
                    r = fp_add_sat_s32(r, params->output_offset);
                    out[oc] = (int8_t)fp_clamp_s32(r, params->act_min, params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
