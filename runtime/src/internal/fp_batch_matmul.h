/*
 * fp_batch_matmul.h - parameter checks shared by fp_batch_matmul_s8 / _s16.
 */
#ifndef FP_BATCH_MATMUL_H
#define FP_BATCH_MATMUL_H

#include "fp_runtime.h"
#include "fp_requant.h"
#include "fp_misc_check.h"

/* The largest element index (b0, b1, i, j) reaches through `stride`, or -1
 * when a stride is negative or the index does not fit below `size`. */
static inline int64_t fp_bmm_last_index(const int32_t stride[4], const int32_t dims[4], int32_t size)
{
    int64_t last = 0;
    int32_t d;
    for (d = 0; d < 4; ++d) {
        if (stride[d] < 0) {
            return -1;
        }
        last += (int64_t)(dims[d] - 1) * (int64_t)stride[d];
    }
    return last < (int64_t)size ? last : -1;
}

/* 1 when the params are legal: dims >= 1, depth <= 2^20, strides >= 0 and
 * every index inside its tensor, offsets in range (s16: 0; s8: |offset| <=
 * 255), a legal scale for the accumulator width, act_min <= act_max in
 * [lo, hi]. */
static inline int fp_bmm_params_valid(const fp_batch_matmul_params_t *p, int32_t lo, int32_t hi, int acc64)
{
    int32_t a_dims[4];
    int32_t b_dims[4];
    int32_t o_dims[4];
    int32_t limit = acc64 ? 0 : 255;
    if (p->batch[0] < 1 || p->batch[1] < 1 || p->rows < 1 || p->depth < 1 || p->cols < 1 ||
        p->depth > (1 << 20)) {
        return 0;
    }
    a_dims[0] = p->batch[0];
    a_dims[1] = p->batch[1];
    a_dims[2] = p->rows;
    a_dims[3] = p->depth;
    b_dims[0] = p->batch[0];
    b_dims[1] = p->batch[1];
    b_dims[2] = p->depth;
    b_dims[3] = p->cols;
    o_dims[0] = p->batch[0];
    o_dims[1] = p->batch[1];
    o_dims[2] = p->rows;
    o_dims[3] = p->cols;
    if (fp_bmm_last_index(p->input1_stride, a_dims, p->input1_size) < 0 ||
        fp_bmm_last_index(p->input2_stride, b_dims, p->input2_size) < 0 ||
        fp_bmm_last_index(p->output_stride, o_dims, p->output_size) < 0) {
        return 0;
    }
    if (p->input1_offset < -limit || p->input1_offset > limit || p->input2_offset < -limit ||
        p->input2_offset > limit || p->output_offset < lo || p->output_offset > hi) {
        return 0;
    }
    if (!fp_rq_scale_legal(p->output_scale.multiplier, p->output_scale.shift, p->mode, acc64)) {
        return 0;
    }
    return lo <= p->act_min && p->act_min <= p->act_max && p->act_max <= hi;
}

#endif /* FP_BATCH_MATMUL_H */
