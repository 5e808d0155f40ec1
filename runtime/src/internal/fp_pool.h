/*
 * fp_pool.h - window geometry and parameter checks of the max / average pool
 * kernels (TFLite reference integer pooling).
 *
 * Output row oy reads input rows [oy*stride_h - pad_top, ... + filter_h),
 * clipped to the input; taps outside the input are padding and are ignored
 * (average pool divides by the number of in-input taps). The checks below
 * guarantee every window holds at least one input tap: pad_top < filter_h and
 * the last window starts inside the input; bottom / right padding is implied
 * by the output dims.
 */
#ifndef FP_POOL_H
#define FP_POOL_H

#include "fp_types.h"
#include "fp_misc_check.h"
#include "fp_requant.h"

/* One clipped window: taps [y0, y1) x [x0, x1) in input coordinates. */
typedef struct {
    int32_t y0;
    int32_t y1;
    int32_t x0;
    int32_t x1;
} fp_pool_window_t;

static inline int fp_pool_axis_valid(int32_t in, int32_t out, int32_t filter, int32_t stride,
                                     int32_t pad)
{
    return filter >= 1 && stride >= 1 && pad >= 0 && pad < filter &&
           (int64_t)(out - 1) * stride - pad < (int64_t)in;
}

static inline int fp_pool_params_valid(const fp_pool_params_t *p, int32_t lo, int32_t hi)
{
    return fp_dims_count(&p->input) != 0 && fp_dims_count(&p->output) != 0 &&
           p->output.n == p->input.n && p->output.c == p->input.c &&
           fp_pool_axis_valid(p->input.h, p->output.h, p->filter_h, p->stride_h, p->pad_top) &&
           fp_pool_axis_valid(p->input.w, p->output.w, p->filter_w, p->stride_w, p->pad_left) &&
           fp_act_valid(p->act_min, p->act_max, lo, hi);
}

/* Clip one axis: window start oy*stride - pad, length filter, input [0, in). */
static inline void fp_pool_clip(int32_t o, int32_t stride, int32_t pad, int32_t filter,
                                int32_t in, int32_t *start, int32_t *end)
{
    /* int64: o*stride may exceed int32 range before the padding is removed. */
    int64_t s = (int64_t)o * stride - pad;
    int64_t e = s + filter;
    *start = (int32_t)(s < 0 ? 0 : s);
    *end = (int32_t)(e > in ? in : e);
}

static inline fp_pool_window_t fp_pool_window(const fp_pool_params_t *p, int32_t oy, int32_t ox)
{
    fp_pool_window_t win;
    fp_pool_clip(oy, p->stride_h, p->pad_top, p->filter_h, p->input.h, &win.y0, &win.y1);
    fp_pool_clip(ox, p->stride_w, p->pad_left, p->filter_w, p->input.w, &win.x0, &win.x1);
    return win;
}

/* TFLite's average: acc / count rounded half away from zero (count >= 1). */
static inline int64_t fp_pool_round_div(int64_t acc, int32_t count)
{
    int64_t half = count / 2;
    /* C99 division truncates toward zero. */
    return acc > 0 ? (acc + half) / count : (acc - half) / count;
}

#endif /* FP_POOL_H */
