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

#endif /* FP_MOVEMENT_H */
