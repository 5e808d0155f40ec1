/* fp_avg_pool_s16 - mean of each window's in-input taps (padding excluded),
 * rounded half away from zero, clamped to the activation range (TFLite
 * reference AveragePool; see internal/fp_pool.h). The sum is kept in int64,
 * so it is exact for any window (TFLite uses int32). */
#include "fp_runtime.h"
#include "../internal/fp_pool.h"

fp_status_t fp_avg_pool_s16(const fp_pool_params_t *params, const int16_t *input, int16_t *output)
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
                const int32_t count = (win.y1 - win.y0) * (win.x1 - win.x0);
                for (c = 0; c < ch; ++c) {
                    int64_t acc = 0;
                    for (y = win.y0; y < win.y1; ++y) {
                        for (x = win.x0; x < win.x1; ++x) {
                            acc += image[(y * in_w + x) * ch + c];
                        }
                    }
                    *out++ = (int16_t)fp_clamp_s64(fp_pool_round_div(acc, count), params->act_min,
                                                   params->act_max);
                }
            }
        }
    }
    return FP_OK;
}
