/*
 * fp_opt_mac.h - dot products of the portable optimized (_opt) multiply-
 * accumulate kernels (runtime/src/kernels_opt/).
 *
 * The reference sums exact in int64 (fp_mac_common.h). The _opt kernels
 * accumulate in int32 only when a bound proves the int32 sum exact, so the
 * result is the reference's bit for bit, and call the reference otherwise:
 *   n terms, each |term| <= reach_x * reach_w, exact in int32 iff
 *   n * reach_x * reach_w <= INT32_MAX (checked once per call in int64).
 * The hot loops are plain int32 multiply-adds over contiguous int8 runs, the
 * shape gcc/clang vectorise on the host (-O3) and that needs no 64-bit
 * arithmetic on RV32 / Cortex-M3. Several output channels share one pass
 * over the input so each input byte is loaded (and offset) once per block.
 */
#ifndef FP_OPT_MAC_H
#define FP_OPT_MAC_H

#include "fp_types.h"
#include "fp_mac_common.h"

/* Output channels per block of the conv / fully connected loops. */
#define FP_OPT_OC_BLOCK 4

/* 1 when n terms of magnitude <= reach_x * reach_w sum exactly in int32. */
static inline int fp_opt_sum_fits_s32(int64_t n, int64_t reach_x, int64_t reach_w)
{
    return n >= 0 && reach_x >= 0 && reach_w >= 0
        && (n == 0 || reach_x == 0 || reach_w == 0
            || n <= (int64_t)INT32_MAX / reach_x / reach_w);
}

/* acc[j] += sum_i (x[i] + xo) * (w[j*w_stride + i] + wo), j < 4, int32 (the
 * caller proved the sums exact). When both offset values fit int16 the terms
 * are int16 x int16 products (the multiply-add-pairs shape of SIMD ISAs). */
static inline void fp_opt_dot4_s8(const int8_t *x, const int8_t *w, int32_t w_stride, int32_t n,
                                  int32_t xo, int32_t wo, int32_t acc[4])
{
    const int8_t *w0 = w;
    const int8_t *w1 = w + w_stride;
    const int8_t *w2 = w1 + w_stride;
    const int8_t *w3 = w2 + w_stride;
    int32_t a0 = 0;
    int32_t a1 = 0;
    int32_t a2 = 0;
    int32_t a3 = 0;
    int32_t i;
    if (wo == 0 && xo >= -INT8_MAX && xo <= -INT8_MIN) {
        for (i = 0; i < n; ++i) {
            const int16_t xv = (int16_t)(x[i] + xo);
            a0 += xv * (int16_t)w0[i];
            a1 += xv * (int16_t)w1[i];
            a2 += xv * (int16_t)w2[i];
            a3 += xv * (int16_t)w3[i];
        }
        n = 0;
    }
    for (i = 0; i < n; ++i) {
        const int32_t xv = (int32_t)x[i] + xo;
        a0 += xv * ((int32_t)w0[i] + wo);
        a1 += xv * ((int32_t)w1[i] + wo);
        a2 += xv * ((int32_t)w2[i] + wo);
        a3 += xv * ((int32_t)w3[i] + wo);
    }
    acc[0] += a0;
    acc[1] += a1;
    acc[2] += a2;
    acc[3] += a3;
}

/* sum_i (x[i] + xo) * (w[i] + wo), int32 (the caller proved it exact). */
static inline int32_t fp_opt_dot1_s8(const int8_t *x, const int8_t *w, int32_t n, int32_t xo,
                                     int32_t wo)
{
    int32_t a = 0;
    int32_t i;
    for (i = 0; i < n; ++i) {
        a += ((int32_t)x[i] + xo) * ((int32_t)w[i] + wo);
    }
    return a;
}

#endif /* FP_OPT_MAC_H */
