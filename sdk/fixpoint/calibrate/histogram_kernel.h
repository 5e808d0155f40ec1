/* Host-only calibration helper; see histogram_kernel.c. Read by the cffi build (cdef). */
int64_t fp_hist_accumulate(const float *x, size_t n, float scale, int64_t *hist, int32_t half_bins);
