/* Host-only calibration helper; see histogram_kernel.c. Read by the cffi build (cdef). */
#define FP_HIST_MAX_BINS 4096
#define FP_HIST_MAX_VALUES 1073741824   /* per call: lane counts (uint32) cannot overflow */

typedef struct {
    float min;          /* +inf / -inf for no values; unspecified when there are NaNs */
    float max;
    int64_t zeros;      /* exact zeros */
    int64_t nans;
} FpHistSummary;

/* Summarises x[0..n) into *out and, when hist is not NULL and every value fits the histogram's
 * range (no NaN, |x| * scale within half_bins), adds x to hist (2 * half_bins int64 bins).
 * Returns 1 if x was added, 0 if not (hist NULL, empty x, or a value out of range), -1 on bad
 * arguments (including n > FP_HIST_MAX_VALUES). */
int32_t fp_hist_observe(const float *x, size_t n, float scale, int64_t *hist, int32_t half_bins,
                        FpHistSummary *out);
