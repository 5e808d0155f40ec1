/*
 * fp_pad_s8 - constant, reflect, edge or wrap pad of an int8 NHWC tensor: the input lands at
 * pad_before (N, H, W, C) inside the output, every other element is
 * pad_value (the output zero point). Padding is non-negative; the amount
 * after each dim is implied by the output dims.
 */
#include <string.h>

#include "fp_runtime.h"
#include "../internal/fp_data_movement.h"

static void fp_pad_fill_s8(int8_t *dst, int32_t count, int8_t value)
{
    memset(dst, (unsigned char)value, (size_t)count);
}

/* reflect / edge / wrap: every output element copies an input element. */
static void fp_pad_mirror_s8(const fp_pad_params_t *p, const int8_t *input, int8_t *dst)
{
    int32_t n, h, w, c;
    for (n = 0; n < p->output.n; ++n) {
        for (h = 0; h < p->output.h; ++h) {
            for (w = 0; w < p->output.w; ++w) {
                const int8_t *src = input + fp_pad_mirror_pixel(p, n, h, w) * p->input.c;
                for (c = 0; c < p->output.c; ++c) {
                    *dst++ = src[fp_pad_mirror(p->mode, c, p->pad_before[3], p->input.c)];
                }
            }
        }
    }
}

fp_status_t fp_pad_s8(const fp_pad_params_t *params, const int8_t *input, int8_t *output)
{
    int32_t n, h, w;
    int8_t *dst = output;
    int8_t value;
    if (params == NULL || input == NULL || output == NULL ||
        !fp_pad_params_valid(params, FP_S8_MIN, FP_S8_MAX)) {
        return FP_ERR_ARG;
    }
    value = (int8_t)params->pad_value;
    if (params->mode != 0) {
        fp_pad_mirror_s8(params, input, output);
        return FP_OK;
    }
    for (n = 0; n < params->output.n; ++n) {
        for (h = 0; h < params->output.h; ++h) {
            for (w = 0; w < params->output.w; ++w) {
                const int32_t px = fp_pad_src_pixel(params, n, h, w);
                const int32_t out_c = params->output.c;
                const int32_t in_c = params->input.c;
                const int32_t before_c = params->pad_before[3];
                if (px < 0) {
                    fp_pad_fill_s8(dst, out_c, value);
                } else {
                    fp_pad_fill_s8(dst, before_c, value);
                    memcpy(dst + before_c, input + px * in_c, (size_t)in_c * sizeof(*dst));
                    fp_pad_fill_s8(dst + before_c + in_c, out_c - before_c - in_c, value);
                }
                dst += out_c;
            }
        }
    }
    return FP_OK;
}
