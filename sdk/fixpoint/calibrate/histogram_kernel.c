/*
 * Host-only calibration helper (not part of the portable runtime): one pass
 * over a float32 tensor that adds every value to a signed histogram and
 * counts exact zeros. Bin of x: floor(x * scale) + half_bins, where the caller
 * chose scale = half_bins / 2^range_exp with |x| < 2^range_exp, so every
 * index is in [0, 2 * half_bins); out-of-range indices are clamped anyway.
 */
#include <stddef.h>
#include <stdint.h>

#include "histogram_kernel.h"

int64_t fp_hist_accumulate(const float *x, size_t n, float scale, int64_t *hist, int32_t half_bins)
{
    const int32_t last = 2 * half_bins - 1;
    int64_t zeros = 0;
    size_t i;
    for (i = 0; i < n; ++i) {
        const float t = x[i] * scale;   /* exact: scale is a power of two */
        int32_t b = (int32_t)t;         /* truncates toward zero ... */
        b -= (t < (float)b);            /* ... so step down for negative non-integers: floor */
        b += half_bins;
        b = b < 0 ? 0 : (b > last ? last : b);
        hist[b] += 1;
        zeros += (x[i] == 0.0f);
    }
    return zeros;
}
