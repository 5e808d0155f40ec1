/*
 * fp_packed_weights.h - the bodies of the packed-weight (s4, s2, s1) conv2d,
 * depthwise conv2d and fully connected kernels.
 *
 * The three datapaths differ only in how a weight is read out of its packing
 * (fp_int4.h, fp_lowbit.h), so each public kernel (fp_conv2d_s4.c, ...) is a
 * thin wrapper passing its getter or unpacker to one body here. The bodies are
 * static inline and each is called with a constant function, so the compiler
 * inlines the getter as if it had been written in place.
 *
 * Arithmetic: bit-identical to the s8 kernel of the same op run on the
 * unpacked weights (docs/kernels.md).
 */
#ifndef FP_PACKED_WEIGHTS_H
#define FP_PACKED_WEIGHTS_H

#include "fp_runtime.h"
#include "fp_conv_common.h"
#include "fp_fc_common.h"

/* Element `index` (>= 0) of a packed weight tensor. */
typedef int8_t (*fp_packed_get_fn)(const int8_t *packed, int32_t index);
/* Elements [first, first + count) of a packed weight tensor, unpacked into dst. */
typedef void (*fp_packed_unpack_fn)(const int8_t *packed, int32_t first, int32_t count, int8_t *dst);

/* conv2d: each output channel's filter is unpacked into scratch once
 * (fp_conv2d_packed_scratch_size() bytes, required), then the int8 window sum
 * of fp_conv2d_s8 runs on it. */
static inline fp_status_t fp_conv2d_packed(const fp_conv2d_params_t *params, const int8_t *input,
                                           const int8_t *packed_filter, const int32_t *bias,
                                           int8_t *output, void *scratch, fp_packed_unpack_fn unpack)
{
    fp_conv_geom_t g;
    int8_t *w;
    int32_t c_out;
    int32_t oc_per_group;
    int32_t filter_per_oc;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    if (params == NULL || input == NULL || packed_filter == NULL || output == NULL
        || !fp_conv2d_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (scratch == NULL) {
        return FP_ERR_SCRATCH;
    }
    g = fp_conv2d_geom(params);
    w = (int8_t *)scratch;
    c_out = params->output.c;
    oc_per_group = c_out / params->groups;
    filter_per_oc = params->filter.h * params->filter.w * params->filter.c;
    /* Output-channel outermost: each filter is unpacked once. */
    for (oc = 0; oc < c_out; ++oc) {
        const int32_t c0 = (oc / oc_per_group) * params->filter.c;
        unpack(packed_filter, oc * filter_per_oc, filter_per_oc, w);
        for (b = 0; b < params->output.n; ++b) {
            for (oy = 0; oy < params->output.h; ++oy) {
                for (ox = 0; ox < params->output.w; ++ox) {
                    const fp_conv_window_t win = fp_conv_window(&g, oy, ox);
                    const int32_t o = ((b * params->output.h + oy) * params->output.w + ox) * c_out + oc;
                    const int64_t acc = fp_conv2d_window_sum_s8(&g, &win, input, w, params->filter.c,
                                                                b, c0, params->input_offset);
                    output[o] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &params->requant,
                                                         params->output_offset, params->act_min,
                                                         params->act_max);
                }
            }
        }
    }
    return FP_OK;
}

/* Scratch of fp_conv2d_packed: KH * KW * (C_in / groups) bytes; 0 if the filter
 * dims are not positive or their product exceeds INT32_MAX (the kernel then
 * rejects the params). */
static inline size_t fp_conv2d_packed_scratch_size(const fp_conv2d_params_t *params)
{
    int64_t n;
    if (params == NULL || params->filter.h <= 0 || params->filter.w <= 0 || params->filter.c <= 0) {
        return 0;
    }
    n = (int64_t)params->filter.h * params->filter.w;
    n = n > INT32_MAX ? 0 : n * params->filter.c;
    return n > INT32_MAX ? 0 : (size_t)n;
}

/* Exact depthwise sum over the window of batch b for output channel oc, which
 * reads input channel ic. One term per tap, so the blocked 32-bit partial sum
 * of fp_mac_dot_s8 is applied along each window row: fp_mac_block_s8(input_offset)
 * taps fit int32; exact int64 across blocks and rows. */
static inline int64_t fp_depthwise_packed_window_sum(const fp_conv_geom_t *g, const fp_conv_window_t *win,
                                                     const int8_t *input, const int8_t *packed_filter,
                                                     int32_t c_out, int32_t b, int32_t ic, int32_t oc,
                                                     int32_t input_offset, fp_packed_get_fn get)
{
    const int32_t block = fp_mac_block_s8(input_offset);
    int64_t acc = 0;
    int32_t ky;
    for (ky = win->ky0; ky < win->ky1; ++ky) {
        const int32_t iy = (int32_t)(win->iy0 + (int64_t)ky * g->dil_h);
        const int8_t *x_row = input + (b * g->in_h + iy) * g->in_w * g->in_c + ic;
        int32_t kx = win->kx0;
        while (kx < win->kx1) {
            const int32_t end = win->kx1 - kx > block ? kx + block : win->kx1;
            int32_t part = 0;
            for (; kx < end; ++kx) {
                const int32_t ix = (int32_t)(win->ix0 + (int64_t)kx * g->dil_w);
                part += (x_row[ix * g->in_c] + input_offset)
                        * (int32_t)get(packed_filter, (ky * g->k_w + kx) * c_out + oc);
            }
            acc += part;
        }
    }
    return acc;
}

/* depthwise conv2d: weights read on the fly (no scratch). */
static inline fp_status_t fp_depthwise_conv2d_packed(const fp_depthwise_conv2d_params_t *params,
                                                     const int8_t *input, const int8_t *packed_filter,
                                                     const int32_t *bias, int8_t *output,
                                                     fp_packed_get_fn get)
{
    fp_conv_geom_t g;
    int32_t c_out;
    int32_t b;
    int32_t oy;
    int32_t ox;
    int32_t oc;
    if (params == NULL || input == NULL || packed_filter == NULL || output == NULL
        || !fp_depthwise_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                   INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    g = fp_depthwise_geom(params);
    c_out = params->output.c;
    for (b = 0; b < params->output.n; ++b) {
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                const fp_conv_window_t win = fp_conv_window(&g, oy, ox);
                int8_t *out = output + ((b * params->output.h + oy) * params->output.w + ox) * c_out;
                for (oc = 0; oc < c_out; ++oc) {
                    const int32_t ic = oc / params->depth_multiplier;
                    const int64_t acc = fp_depthwise_packed_window_sum(&g, &win, input, packed_filter, c_out,
                                                                       b, ic, oc, params->input_offset, get);
                    out[oc] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &params->requant,
                                                       params->output_offset, params->act_min,
                                                       params->act_max);
                }
            }
        }
    }
    return FP_OK;
}

/* fully connected: weights read on the fly (no scratch). */
static inline fp_status_t fp_fully_connected_packed(const fp_fully_connected_params_t *params,
                                                    const int8_t *input, const int8_t *packed_filter,
                                                    const int32_t *bias, int8_t *output, fp_packed_get_fn get)
{
    int32_t depth;
    int32_t c_out;
    int32_t in_off;
    int32_t f_off;
    int32_t b;
    int32_t oc;
    if (params == NULL || input == NULL || packed_filter == NULL || output == NULL
        || !fp_fc_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                            INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    depth = params->depth;
    c_out = params->out_channels;
    in_off = params->input_offset;
    f_off = params->filter_offset;
    for (b = 0; b < params->batches; ++b) {
        const int8_t *x = input + b * depth;
        int8_t *out = output + b * c_out;
        for (oc = 0; oc < c_out; ++oc) {
            const int32_t w0 = oc * depth;
            int64_t acc = 0;
            int32_t d;
            /* each term fits int32 (fp_fc_params_ok); summed in int64, not in
             * the blocked int32 partial sum, since with a filter offset the
             * terms exceed the bound fp_mac_block_s8 assumes. */
            for (d = 0; d < depth; ++d) {
                const int32_t w = (int32_t)get(packed_filter, w0 + d) + f_off;
                acc += ((int32_t)x[d] + in_off) * w;
            }
            out[oc] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &params->requant,
                                               params->output_offset, params->act_min,
                                               params->act_max);
        }
    }
    return FP_OK;
}

#endif /* FP_PACKED_WEIGHTS_H */
