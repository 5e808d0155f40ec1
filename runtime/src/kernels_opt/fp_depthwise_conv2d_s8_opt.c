/*
 * fp_depthwise_conv2d_s8_opt - portable optimized int8 depthwise
 * convolution, bit-identical to fp_depthwise_conv2d_s8.
 *
 * Per output pixel, a block of up to FP_DW_OPT_CH channels accumulates in an
 * int32 array on the stack: for every in-input tap, one pass over the block's
 * contiguous channels of the input pixel and of the filter tap (NHWC and
 * [1, KH, KW, C_out] keep both contiguous), the loop compilers vectorise.
 * Taps outside the input are skipped as in the reference. A 3x3 window fully
 * inside the input (the common case) runs its nine taps unrolled. The int32
 * sum is exact when KH*KW * reach(input_offset) * 128 <= INT32_MAX
 * (fp_opt_mac.h); otherwise each channel sums its taps in int64 (exact:
 * every term fits int32), as the reference does.
 */
#include <string.h>

#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"
#include "../internal/fp_opt_mac.h"
#include "../internal/fp_opt_host.h"

/* Channels per stack block (int32 accumulators). */
#define FP_DW_OPT_CH 64

/* acc[c] += (x[c] + off) * w[c] for c < n (depth multiplier 1). */
static void tap_m1(int32_t *acc, const int8_t *x, const int8_t *w, int32_t n, int32_t off)
{
    int32_t c;
    for (c = 0; c < n; ++c) {
        acc[c] += ((int32_t)x[c] + off) * (int32_t)w[c];
    }
}

/* acc[c] += (x[(c0 + c) / m] + off) * w[c] for c < n (depth multiplier m). */
static void tap_mult(int32_t *acc, const int8_t *x, const int8_t *w, int32_t n, int32_t off,
                     int32_t c0, int32_t m)
{
    int32_t c;
    for (c = 0; c < n; ++c) {
        acc[c] += ((int32_t)x[(c0 + c) / m] + off) * (int32_t)w[c];
    }
}

/* Nine taps of a 3x3 window inside the input, dilation 1, multiplier 1:
 * x points at the window's top-left pixel (channel c0), w at tap (0,0). */
static void window_3x3(int32_t *acc, const int8_t *x, const int8_t *w, int32_t n, int32_t off,
                       int32_t row, int32_t c_in, int32_t c_out)
{
    int32_t c;
    for (c = 0; c < n; ++c) {
        const int8_t *r0 = x + c;
        const int8_t *r1 = r0 + row;
        const int8_t *r2 = r1 + row;
        const int8_t *v = w + c;
        int32_t a = ((int32_t)r0[0] + off) * v[0];
        a += ((int32_t)r0[c_in] + off) * v[c_out];
        a += ((int32_t)r0[2 * c_in] + off) * v[2 * c_out];
        a += ((int32_t)r1[0] + off) * v[3 * c_out];
        a += ((int32_t)r1[c_in] + off) * v[4 * c_out];
        a += ((int32_t)r1[2 * c_in] + off) * v[5 * c_out];
        a += ((int32_t)r2[0] + off) * v[6 * c_out];
        a += ((int32_t)r2[c_in] + off) * v[7 * c_out];
        a += ((int32_t)r2[2 * c_in] + off) * v[8 * c_out];
        acc[c] = a;
    }
}

/* Channel oc of the window in int64 (sums int32 cannot hold exactly). */
static int64_t channel_exact64(const fp_depthwise_conv2d_params_t *p, const fp_conv_geom_t *g,
                               const fp_conv_window_t *win, const int8_t *input, const int8_t *filter,
                               int32_t b, int32_t oc)
{
    const int32_t ic = oc / p->depth_multiplier;
    int64_t acc = 0;
    int32_t ky;
    int32_t kx;
    for (ky = win->ky0; ky < win->ky1; ++ky) {
        const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
        for (kx = win->kx0; kx < win->kx1; ++kx) {
            const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
            acc += ((int32_t)input[((b * g->in_h + iy) * g->in_w + ix) * g->in_c + ic] + p->input_offset)
                 * (int32_t)filter[(ky * g->k_w + kx) * p->output.c + oc];
        }
    }
    return acc;
}

static void pixel(const fp_depthwise_conv2d_params_t *p, const fp_conv_geom_t *g,
                  const fp_conv_window_t *win, const int8_t *input, const int8_t *filter,
                  const int32_t *bias, int8_t *out, int32_t b)
{
    const int32_t c_out = p->output.c;
    const int32_t m = p->depth_multiplier;
    const int fast3 = m == 1 && g->k_h == 3 && g->k_w == 3 && g->dil_h == 1 && g->dil_w == 1
                   && win->ky0 == 0 && win->ky1 == 3 && win->kx0 == 0 && win->kx1 == 3;
    int32_t acc[FP_DW_OPT_CH];
    int32_t c0;
    int32_t c;
    int32_t ky;
    int32_t kx;
    for (c0 = 0; c0 < c_out; c0 += FP_DW_OPT_CH) {
        const int32_t n = c_out - c0 < FP_DW_OPT_CH ? c_out - c0 : FP_DW_OPT_CH;
        if (fast3) {
            const int8_t *x = input + ((b * g->in_h + (int32_t)win->iy0) * g->in_w + (int32_t)win->ix0)
                                          * g->in_c + c0;
            window_3x3(acc, x, filter + c0, n, p->input_offset, g->in_w * g->in_c, g->in_c, c_out);
        } else {
            for (c = 0; c < n; ++c) {
                acc[c] = 0;
            }
            for (ky = win->ky0; ky < win->ky1; ++ky) {
                const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
                for (kx = win->kx0; kx < win->kx1; ++kx) {
                    const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
                    const int8_t *x = input + ((b * g->in_h + iy) * g->in_w + ix) * g->in_c;
                    const int8_t *w = filter + (ky * g->k_w + kx) * c_out + c0;
                    if (m == 1) {
                        tap_m1(acc, x + c0, w, n, p->input_offset);
                    } else {
                        tap_mult(acc, x, w, n, p->input_offset, c0, m);
                    }
                }
            }
        }
        fp_opt_out_block_s8(acc, n, c0, bias, &p->requant, p->output_offset, p->act_min, p->act_max,
                            out + c0);
    }
}

#if FP_OPT_HOST_SIMD
/* 16 int8 values from p (n <= 16 of them; the rest 0) as int32 lanes. */
static inline void load16(fp_opt_v32 *v, const int8_t *p, int32_t n)
{
    if (n == FP_OPT_LANES) {
        fp_opt_load16(v, p);
    } else {
        int8_t b[FP_OPT_LANES] = {0};
        memcpy(b, p, (size_t)n);
        fp_opt_load16(v, b);
    }
}

/* Host path (depth multiplier 1, DOUBLE requantization): 16 channels per
 * vector, per in-input tap one widening multiply-add of the pixel's and the
 * tap's contiguous channels, then fp_opt_rq16_store. */
static void host_pixels(const fp_depthwise_conv2d_params_t *p, const fp_conv_geom_t *g, const int8_t *input,
                        const int8_t *filter, const int32_t *bias, int8_t *output)
{
    const int32_t c_out = p->output.c;
    const int32_t nv = (c_out + FP_OPT_LANES - 1) / FP_OPT_LANES;
    const fp_opt_out16_t o = fp_opt_out16(p->output_offset, p->act_min, p->act_max);
    const fp_opt_v32 zero = {0};
    const fp_opt_v32 off = zero + p->input_offset;
    fp_opt_rq16_t rq[FP_OPT_HOST_CH_MAX / FP_OPT_LANES];
    int32_t b;
    int32_t oy;
    int32_t ox;
    fp_opt_rq16_prepare(&p->requant, bias, c_out, rq);
    for (b = 0; b < p->output.n; ++b) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(g, oy, ox);
                int8_t *out = output + ((b * p->output.h + oy) * p->output.w + ox) * c_out;
                int32_t v;
                for (v = 0; v < nv; ++v) {
                    const int32_t c0 = v * FP_OPT_LANES;
                    const int32_t n = c_out - c0 < FP_OPT_LANES ? c_out - c0 : FP_OPT_LANES;
                    fp_opt_v32 acc = zero;
                    int32_t ky;
                    int32_t kx;
                    for (ky = win.ky0; ky < win.ky1; ++ky) {
                        const int32_t iy = (int32_t)(win.iy0 + (int64_t)ky * g->dil_h);
                        for (kx = win.kx0; kx < win.kx1; ++kx) {
                            const int32_t ix = (int32_t)(win.ix0 + (int64_t)kx * g->dil_w);
                            fp_opt_v32 x;
                            fp_opt_v32 w;
                            load16(&x, input + ((b * g->in_h + iy) * g->in_w + ix) * g->in_c + c0, n);
                            load16(&w, filter + (ky * g->k_w + kx) * c_out + c0, n);
                            acc += (x + off) * w;
                        }
                    }
                    fp_opt_rq16_store(&acc, rq + v, &o, out + c0, n);
                }
            }
        }
    }
}
#endif

fp_status_t fp_depthwise_conv2d_s8_opt(const fp_depthwise_conv2d_params_t *params,
                                       const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch)
{
    fp_conv_geom_t g;
    int fits;
    int32_t b;
    int32_t oy;
    int32_t ox;
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_depthwise_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                  INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    (void)scratch; /* fp_depthwise_conv2d_s8_opt_scratch_size() is 0 */
    fits = fp_opt_sum_fits_s32((int64_t)params->filter.h * params->filter.w,
                               fp_s8_reach(params->input_offset), 128);
    g = fp_depthwise_geom(params);
#if FP_OPT_HOST_SIMD
    if (fits && params->depth_multiplier == 1 && fp_opt_rq16_ok(&params->requant, params->output.c)) {
        host_pixels(params, &g, input, filter, bias, output);
        return FP_OK;
    }
#endif
    for (b = 0; b < params->output.n; ++b) {
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&g, oy, ox);
                int8_t *out = output + ((b * params->output.h + oy) * params->output.w + ox) * params->output.c;
                int32_t oc;
                if (fits) {
                    pixel(params, &g, &win, input, filter, bias, out, b);
                    continue;
                }
                for (oc = 0; oc < params->output.c; ++oc) {
                    out[oc] = (int8_t)fp_mac_out_acc32(channel_exact64(params, &g, &win, input, filter, b, oc),
                                                       bias, oc, &params->requant, params->output_offset,
                                                       params->act_min, params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
