/* fp_max_pool_s16 - max over each window's in-input taps, clamped to the
 * activation range (TFLite reference MaxPool; see internal/fp_pool.h). */
#include "fp_runtime.h"
#include "../internal/fp_pool.h"

fp_status_t fp_max_pool_s16(const fp_pool_params_t *params, const int16_t *input, int16_t *output)
{
    const int32_t in_h = params == NULL ? 0 : params->input.h;
    const int32_t in_w = params == NULL ? 0 : params->input.w;
    const int32_t ch = params == NULL ? 0 : params->input.c;
    int32_t n, oy, ox, c, y, x;
    int16_t *out = output;
    if (params == NULL || input == NULL || output == NULL ||
        !fp_pool_params_valid(params, FP_S16_MIN, FP_S16_MAX)) {
        return FP_ERR_ARG;
    }
    for (n = 0; n < params->input.n; ++n) {
        const int16_t *image = input + n * (in_h * in_w * ch);
        for (oy = 0; oy < params->output.h; ++oy) {
            for (ox = 0; ox < params->output.w; ++ox) {
                const fp_pool_window_t win = fp_pool_window(params, oy, ox);
                for (c = 0; c < ch; ++c) {
                    int32_t best = FP_S16_MIN;
                    for (y = win.y0; y < win.y1; ++y) {
                        for (x = win.x0; x < win.x1; ++x) {
                            best = fp_max_s32(best, image[(y * in_w + x) * ch + c]);
                        }
                    }
                    *out++ = (int16_t)fp_clamp_s32(best, params->act_min, params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
