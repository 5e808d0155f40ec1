/*
 * fp_avg_pool_s8_mve - fp_avg_pool_s8 with Helium (MVE), bit-identical to it
 * for every legal input: per output pixel, 4 channels per vector sum the
 * window's in-input taps in int32 lanes (exact: a window of fewer than 2^24
 * taps sums to at most 2^31 - 1 in magnitude), then per channel the
 * reference's division rounded half away from zero (fp_pool_round_div) and
 * the clamp. Larger windows take the reference's int64 sums, inline. No
 * scratch. Without MVE this is fp_avg_pool_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_pool.h"
#include "../internal/fp_mve.h"

#if FP_MVE_AVAILABLE

#define AVG_MAX_TAPS (1 << 24)

static int32x4_t window_sum(const int8_t *image, const fp_pool_window_t *win, int32_t in_w,
                            int32_t ch, mve_pred16_t p)
{
    int32x4_t acc = vdupq_n_s32(0);
    int32_t y;
    int32_t x;
    for (y = win->y0; y < win->y1; ++y) {
        const int8_t *r = image + (y * in_w + win->x0) * ch;
        for (x = win->x0; x < win->x1; ++x) {
            acc = vaddq_s32(acc, vldrbq_z_s32(r, p));
            r += ch;
        }
    }
    return acc;
}

/* The reference's sum of one channel in int64 (windows of 2^24 taps or more). */
static int64_t window_sum64(const int8_t *image, const fp_pool_window_t *win, int32_t in_w,
                            int32_t ch)
{
    int64_t acc = 0;
    int32_t y;
    int32_t x;
    for (y = win->y0; y < win->y1; ++y) {
        for (x = win->x0; x < win->x1; ++x) {
            acc += image[(y * in_w + x) * ch];
        }
    }
    return acc;
}

static void pixel(const fp_pool_params_t *p, const int8_t *image, const fp_pool_window_t *win,
                  int8_t *out)
{
    const int32_t ch = p->input.c;
    const int32_t count = (win->y1 - win->y0) * (win->x1 - win->x0);
    int32_t sums[4];
    int32_t c;
    int32_t j;
    if (count >= AVG_MAX_TAPS) {
        for (c = 0; c < ch; ++c) {
            out[c] = (int8_t)fp_clamp_s64(
                fp_pool_round_div(window_sum64(image + c, win, p->input.w, ch), count), p->act_min,
                p->act_max);
        }
        return;
    }
    for (c = 0; c < ch; c += 4) {
        const int32_t m = ch - c < 4 ? ch - c : 4;
        vstrwq_s32(sums, window_sum(image + c, win, p->input.w, ch, vctp32q((uint32_t)m)));
        for (j = 0; j < m; ++j) {
            out[c + j] = (int8_t)fp_clamp_s64(fp_pool_round_div(sums[j], count), p->act_min,
                                              p->act_max);
        }
    }
}

static void run(const fp_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t per_image = p->input.h * p->input.w * p->input.c;
    int32_t n;
    int32_t oy;
    int32_t ox;
    for (n = 0; n < p->input.n; ++n) {
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const fp_pool_window_t win = fp_pool_window(p, oy, ox);
                pixel(p, input + n * per_image, &win, output);
                output += p->input.c;
            }
        }
    }
}

fp_status_t fp_avg_pool_s8_mve(const fp_pool_params_t *params, const int8_t *input,
                               int8_t *output)
{
    if (params == NULL || input == NULL || output == NULL
        || !fp_pool_params_valid(params, FP_S8_MIN, FP_S8_MAX)) {
        return FP_ERR_ARG;
    }
    run(params, input, output);
    return FP_OK;
}

#else /* no MVE: the reference */

fp_status_t fp_avg_pool_s8_mve(const fp_pool_params_t *params, const int8_t *input,
                               int8_t *output)
{
    return fp_avg_pool_s8(params, input, output);
}

#endif
