/*
 * fp_resize_s16 - resize H and W of a int16_t NHWC tensor: nearest (exact
 * rational source coordinate) or bilinear (TFLite's integer resize_bilinear,
 * Q10 positions, 64-bit accumulation, rounding half away from zero). The
 * output keeps the input's quantization.
 */
#include "fp_runtime.h"
#include "../internal/fp_movement.h"

static void fp_resize_nearest_s16(const fp_resize_params_t *p, const int16_t *input, int16_t *output)
{
    const int32_t c = p->input.c;
    int32_t n, y, x, k;
    for (n = 0; n < p->output.n; ++n) {
        for (y = 0; y < p->output.h; ++y) {
            const int32_t sy = fp_resize_nearest_index(p, 0, y, p->input.h);
            for (x = 0; x < p->output.w; ++x) {
                const int32_t sx = fp_resize_nearest_index(p, 1, x, p->input.w);
                const int16_t *src = input + ((n * p->input.h + sy) * p->input.w + sx) * c;
                for (k = 0; k < c; ++k) {
                    *output++ = src[k];
                }
            }
        }
    }
}

static void fp_resize_bilinear_s16(const fp_resize_params_t *p, const int16_t *input, int16_t *output)
{
    const int32_t c = p->input.c;
    int32_t n, y, x, k;
    for (n = 0; n < p->output.n; ++n) {
        const int16_t *plane = input + n * p->input.h * p->input.w * c;
        for (y = 0; y < p->output.h; ++y) {
            int32_t vy, y0, y1;
            fp_resize_bilinear_taps(p, 0, y, p->input.h, &vy, &y0, &y1);
            for (x = 0; x < p->output.w; ++x) {
                int32_t vx, x0, x1;
                int64_t dy, dx;
                fp_resize_bilinear_taps(p, 1, x, p->input.w, &vx, &x0, &x1);
                dy = (int64_t)vy - 1024 * (int64_t)y0;
                dx = (int64_t)vx - 1024 * (int64_t)x0;
                for (k = 0; k < c; ++k) {
                    const int64_t acc = plane[(y0 * p->input.w + x0) * c + k] * (1024 - dy) * (1024 - dx) +
                                        plane[(y1 * p->input.w + x0) * c + k] * dy * (1024 - dx) +
                                        plane[(y0 * p->input.w + x1) * c + k] * (1024 - dy) * dx +
                                        plane[(y1 * p->input.w + x1) * c + k] * dy * dx;
                    const int64_t round = acc > 0 ? ((int64_t)1 << 19) : -((int64_t)1 << 19);
                    int64_t v = (acc + round) / ((int64_t)1 << 20);
                    /* in range whenever the taps are (weights are convex); clamped for clamped taps */
                    v = v < -32768 ? -32768 : (v > 32767 ? 32767 : v);
                    *output++ = (int16_t)v;
                }
            }
        }
    }
}

fp_status_t fp_resize_s16(const fp_resize_params_t *params, const int16_t *input, int16_t *output)
{
    if (params == NULL || input == NULL || output == NULL || !fp_resize_valid(params)) {
        return FP_ERR_ARG;
    }
    if (params->method == 0) {
        fp_resize_nearest_s16(params, input, output);
    } else {
        fp_resize_bilinear_s16(params, input, output);
    }
    return FP_OK;
}
