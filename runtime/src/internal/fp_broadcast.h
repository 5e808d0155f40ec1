/*
 * fp_broadcast.h - NHWC broadcasting of two operands onto an output shape.
 *
 * An operand dim broadcasts when it is 1; otherwise it must equal the output
 * dim, and each output dim must be the larger of the two operand dims (the
 * numpy / TFLite broadcast shape). Broadcast dims get stride 0, so the flat
 * index of an operand at output position (n, h, w, c) is
 * n*s[0] + h*s[1] + w*s[2] + c*s[3].
 */
#ifndef FP_BROADCAST_H
#define FP_BROADCAST_H

#include "fp_types.h"
#include "fp_misc_check.h"

typedef struct {
    int32_t dims[4];   /* output N, H, W, C */
    int32_t s1[4];     /* element strides of input1 (0 where broadcast) */
    int32_t s2[4];     /* element strides of input2 (0 where broadcast) */
} fp_bcast_t;

static inline void fp_dims_to_array(const fp_dims_t *d, int32_t a[4])
{
    a[0] = d->n;
    a[1] = d->h;
    a[2] = d->w;
    a[3] = d->c;
}

static inline void fp_bcast_strides(const int32_t in[4], int32_t s[4])
{
    int32_t stride = 1;
    int k;
    for (k = 3; k >= 0; --k) {
        s[k] = in[k] == 1 ? 0 : stride;
        stride *= in[k];
    }
}

/* Fill *bc; returns 0 when a shape is empty, too large or not broadcastable. */
static inline int fp_bcast_init(const fp_dims_t *in1, const fp_dims_t *in2, const fp_dims_t *out,
                                fp_bcast_t *bc)
{
    int32_t a[4];
    int32_t b[4];
    int k;
    if (fp_dims_count(in1) == 0 || fp_dims_count(in2) == 0 || fp_dims_count(out) == 0) {
        return 0;
    }
    fp_dims_to_array(in1, a);
    fp_dims_to_array(in2, b);
    fp_dims_to_array(out, bc->dims);
    for (k = 0; k < 4; ++k) {
        int32_t want = a[k] > b[k] ? a[k] : b[k];
        if (bc->dims[k] != want || (a[k] != 1 && a[k] != want) || (b[k] != 1 && b[k] != want)) {
            return 0;
        }
    }
    fp_bcast_strides(a, bc->s1);
    fp_bcast_strides(b, bc->s2);
    return 1;
}

#endif /* FP_BROADCAST_H */
