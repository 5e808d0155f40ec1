/*
 * fp_max_pool_s8_mve - fp_max_pool_s8 with Helium (MVE), bit-identical to
 * it for every legal input: per output pixel, 16 channels per vector, VMAX
 * over the window's in-input taps, then the clamp to [act_min, act_max]
 * (inside int8); the last channels % 16 predicated. No scratch.
 * Without MVE this is fp_max_pool_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_pool.h"
#include "../internal/fp_mve.h"

#if FP_MVE_AVAILABLE

static int8x16_t window_max(const int8_t *image, const fp_pool_window_t *win, int32_t in_w,
                            int32_t ch, mve_pred16_t p)
{
    int8x16_t best = vdupq_n_s8(INT8_MIN);
    int32_t y;
    int32_t x;
    for (y = win->y0; y < win->y1; ++y) {
        const int8_t *r = image + (y * in_w + win->x0) * ch;
        for (x = win->x0; x < win->x1; ++x) {
            best = vmaxq_s8(best, vldrbq_z_s8(r, p)); /* inactive lanes: 0, never stored */
            r += ch;
        }
    }
    return best;
}

static void run(const fp_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t in_w = p->input.w;
    const int32_t ch = p->input.c;
    const int8x16_t lo = vdupq_n_s8((int8_t)p->act_min);
    const int8x16_t hi = vdupq_n_s8((int8_t)p->act_max);
    int32_t n;
    int32_t oy;
    int32_t ox;
    int32_t c;
    for (n = 0; n < p->input.n; ++n) {
        const int8_t *image = input + n * (p->input.h * in_w * ch);
        for (oy = 0; oy < p->output.h; ++oy) {
            for (ox = 0; ox < p->output.w; ++ox) {
                const fp_pool_window_t win = fp_pool_window(p, oy, ox);
                for (c = 0; c < ch; c += 16) {
                    const mve_pred16_t pr = vctp8q((uint32_t)(ch - c));
                    const int8x16_t m = window_max(image + c, &win, in_w, ch, pr);
                    vstrbq_p_s8(output + c, vminq_s8(vmaxq_s8(m, lo), hi), pr);
                }
                output += ch;
            }
        }
    }
}

fp_status_t fp_max_pool_s8_mve(const fp_pool_params_t *params, const int8_t *input,
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

fp_status_t fp_max_pool_s8_mve(const fp_pool_params_t *params, const int8_t *input,
                               int8_t *output)
{
    return fp_max_pool_s8(params, input, output);
}

#endif
