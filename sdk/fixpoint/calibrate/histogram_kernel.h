/* Host-only calibration helper; see histogram_kernel.c. Read by the cffi build (cdef). */
#define FP_HIST_MAX_BINS 4096
/* Adds every x[i] to hist (2 * half_bins int64 bins); returns the number of exact zeros, or -1
 * when 2 * half_bins exceeds FP_HIST_MAX_BINS. */
int64_t fp_hist_accumulate(const float *x, size_t n, float scale, int64_t *hist, int32_t half_bins);
