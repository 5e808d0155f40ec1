/*
 * fp_movement.h - geometry checks of the transpose and slice kernels.
 *
 * Both kernels walk the output in row-major (N, H, W, C) order and read the
 * input through per-output-dim element strides, so one geometry helper per
 * op serves the int8 and int16 kernels.
 */
#ifndef FP_MOVEMENT_H
#define FP_MOVEMENT_H

#include "fp_types.h"

/* The dims as an array in stored order; 0 when any is < 1 or the element
 * count exceeds INT32_MAX. */
static inline int fp_movement_dims(const fp_dims_t *d, int32_t out[4])
{
    int64_t count = 1;
    int32_t k;
    out[0] = d->n;
    out[1] = d->h;
    out[2] = d->w;
    out[3] = d->c;
    for (k = 0; k < 4; ++k) {
        if (out[k] < 1) {
            return 0;
        }
        count *= out[k]; /* each factor <= INT32_MAX and count <= INT32_MAX before: no overflow */
        if (count > INT32_MAX) {
            return 0;
        }
    }
    return 1;
}

/* Row-major element strides of dims d. */
static inline void fp_movement_strides(const int32_t d[4], int32_t stride[4])
{
    stride[3] = 1;
    stride[2] = d[3];
    stride[1] = d[3] * d[2];
    stride[0] = d[3] * d[2] * d[1];
}

/* Output dims and the input stride of each output dim of a valid transpose;
 * 0 when the params are not legal. */
static inline int fp_transpose_geometry(const fp_transpose_params_t *p, int32_t out_dims[4],
                                        int32_t src_stride[4])
{
    int32_t in_dims[4];
    int32_t in_stride[4];
    int32_t seen = 0;
    int32_t k;
    if (!fp_movement_dims(&p->input, in_dims)) {
        return 0;
    }
    for (k = 0; k < 4; ++k) {
        if (p->perm[k] < 0 || p->perm[k] > 3 || (seen & (1 << p->perm[k])) != 0) {
            return 0;
        }
        seen |= 1 << p->perm[k];
    }
    fp_movement_strides(in_dims, in_stride);
    for (k = 0; k < 4; ++k) {
        out_dims[k] = in_dims[p->perm[k]];
        src_stride[k] = in_stride[p->perm[k]];
    }
    return 1;
}

/* Output dims, the signed input step of each output dim and the input index
 * of output element 0 of a valid slice; 0 when the params are not legal. */
static inline int fp_slice_geometry(const fp_slice_params_t *p, int32_t out_dims[4], int32_t src_step[4],
                                    int32_t *start)
{
    int32_t in_dims[4];
    int32_t in_stride[4];
    int64_t first = 0;
    int32_t k;
    if (!fp_movement_dims(&p->input, in_dims) || !fp_movement_dims(&p->output, out_dims)) {
        return 0;
    }
    fp_movement_strides(in_dims, in_stride);
    for (k = 0; k < 4; ++k) {
        const int64_t last = (int64_t)p->begin[k] + (int64_t)(out_dims[k] - 1) * p->stride[k];
        if (p->stride[k] == 0 || p->begin[k] < 0 || p->begin[k] >= in_dims[k] || last < 0 ||
            last >= in_dims[k]) {
            return 0;
        }
        /* |stride| * in_stride can exceed int32 only when out_dims[k] == 1 (the step is never taken) */
        src_step[k] = out_dims[k] == 1 ? 0 : p->stride[k] * in_stride[k];
        first += (int64_t)p->begin[k] * in_stride[k];
    }
    *start = (int32_t)first; /* < input count <= INT32_MAX */
    return 1;
}

#define FP_RESIZE_MAX_DIM 32767

/* 1 when the resize params are legal (see fp_resize_params_t). */
static inline int fp_resize_valid(const fp_resize_params_t *p)
{
    int32_t in[4];
    int32_t out[4];
    int32_t k;
    if (!fp_movement_dims(&p->input, in) || !fp_movement_dims(&p->output, out) || in[0] != out[0] ||
        in[3] != out[3] || p->method < 0 || p->method > 1 || p->coord < 0 || p->coord > (p->method ? 2 : 3) ||
        p->nearest_mode < 0 || p->nearest_mode > 3) {
        return 0;
    }
    for (k = 1; k < 3; ++k) {
        if (in[k] > FP_RESIZE_MAX_DIM || out[k] > FP_RESIZE_MAX_DIM || p->ratio_num[k - 1] < 0 ||
            p->ratio_num[k - 1] > FP_RESIZE_MAX_DIM || p->ratio_den[k - 1] < 1 ||
            p->ratio_den[k - 1] > FP_RESIZE_MAX_DIM) {
            return 0;
        }
    }
    return 1;
}

/* floor(a / b) for b > 0. */
static inline int64_t fp_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Nearest source index of output index x along one axis (exact rational arithmetic). */
static inline int32_t fp_resize_nearest_index(const fp_resize_params_t *p, int32_t axis, int32_t x, int32_t in_size)
{
    const int64_t num = p->ratio_num[axis];
    const int64_t den = p->ratio_den[axis];
    int64_t a; /* source coordinate = a / b, b > 0 */
    int64_t b;
    int64_t idx;
    switch (p->coord) {
    case 1: a = (2 * (int64_t)x + 1) * num - den; b = 2 * den; break;
    case 3: a = (2 * (int64_t)x + 1) * num; b = 2 * den; break;
    default: a = (int64_t)x * num; b = den; break;
    }
    switch (p->nearest_mode) {
    case 0: idx = -fp_floor_div(-(2 * a - b), 2 * b); break; /* ceil(a/b - 1/2): ties go down */
    case 1: idx = fp_floor_div(2 * a + b, 2 * b); break;     /* floor(a/b + 1/2): ties go up */
    case 2: idx = fp_floor_div(a, b); break;
    default: idx = -fp_floor_div(-a, b); break;
    }
    if (idx < 0) {
        idx = 0;
    }
    return idx > in_size - 1 ? in_size - 1 : (int32_t)idx;
}

/* TFLite's integer bilinear source position of output index x: the Q10
 * coordinate and the two taps. Beyond the last input pixel (which TFLite's
 * own geometry never reaches) the coordinate is clamped to it, so both taps
 * are the last pixel exactly as TFLite's clamped upper tap would give, and
 * every weight product stays far inside int64. */
static inline void fp_resize_bilinear_taps(const fp_resize_params_t *p, int32_t axis, int32_t x, int32_t in_size,
                                           int32_t *scaled, int32_t *lo, int32_t *hi)
{
    const int64_t den = p->ratio_den[axis];
    const int64_t scale_10 = ((int64_t)1024 * p->ratio_num[axis] + den / 2) / den; /* < 2^25 */
    int64_t v = p->coord == 1 ? x * scale_10 + scale_10 / 2 - 512 : x * scale_10;   /* >= -512, < 2^41 */
    const int64_t last = (int64_t)1024 * (in_size - 1);
    int32_t l;
    int32_t h;
    v = v > last ? last : v;
    l = (int32_t)(v / 1024); /* truncation, as TFLite: -512..-1 give 0 */
    h = (int32_t)((v + 1023) / 1024);
    l = l < 0 ? 0 : l;
    h = h > in_size - 1 ? in_size - 1 : h;
    *scaled = (int32_t)v;
    *lo = l;
    *hi = h;
}

#endif /* FP_MOVEMENT_H */
