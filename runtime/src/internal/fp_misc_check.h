/*
 * fp_misc_check.h - parameter validation shared by the elementwise, pooling,
 * softmax and data-movement kernels.
 *
 * Requantization parameters are checked with the shared rules of
 * fp_requant.h (fp_rq_mode_legal / fp_rq_scale_legal, docs/rounding.md):
 * 32-bit accumulators everywhere here, since these kernels requantize int32
 * values on both the s8 and the s16 datapath (as TFLite does).
 */
#ifndef FP_MISC_CHECK_H
#define FP_MISC_CHECK_H

#include "fp_types.h"
#include "fp_requant.h"

#define FP_S8_MIN (-128)
#define FP_S8_MAX 127
#define FP_S16_MIN (-32768)
#define FP_S16_MAX 32767

static inline int fp_mode_valid(fp_rq_mode_t mode)
{
    return fp_rq_mode_legal(mode);
}

/* 1 when (multiplier, shift) is legal for a 32-bit accumulator in `mode`. */
static inline int fp_scale32_valid(fp_scale_t scale, fp_rq_mode_t mode)
{
    return fp_rq_scale_legal(scale.multiplier, scale.shift, mode, 0);
}

/* Zero-point offsets of a tensor of element type [type_min, ...]. int8
 * tensors: any int32 offset (TFLite's zero points give input_offset = -zp in
 * [-127, 128] and output_offset = zp in [-128, 127]; every kernel using these
 * checks forms x + offset, its products and shifts in int64 and saturates to
 * int32, and adds the output offset in int64 before clamping, so no offset
 * can overflow). int16 tensors have zero point 0 (TFLite 16x8): both
 * offsets must be 0. */
static inline int fp_input_offset_valid(int32_t offset, int32_t type_min)
{
    return type_min == FP_S8_MIN ? 1 : offset == 0;
}

static inline int fp_output_offset_valid(int32_t offset, int32_t type_min)
{
    return type_min == FP_S8_MIN ? 1 : offset == 0;
}

/* 1 when lo <= act_min <= act_max <= hi. */
static inline int fp_act_valid(int32_t act_min, int32_t act_max, int32_t lo, int32_t hi)
{
    return act_min >= lo && act_max <= hi && act_min <= act_max;
}

/* Element count of a dims struct; 0 when a dim is not positive or the count
 * exceeds INT32_MAX (so every flat index fits in int32 and in size_t). */
static inline int32_t fp_dims_count(const fp_dims_t *d)
{
    int64_t count;
    if (d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1) {
        return 0;
    }
    count = (int64_t)d->n * d->h;
    if (count > INT32_MAX) {
        return 0;
    }
    count *= d->w;
    if (count > INT32_MAX) {
        return 0;
    }
    count *= d->c;
    return count > INT32_MAX ? 0 : (int32_t)count;
}

/* x clamped to [lo, hi] (lo <= hi), narrowed to int32. */
static inline int32_t fp_clamp_s64(int64_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : (int32_t)x);
}

#endif /* FP_MISC_CHECK_H */
