/*
 * fp_data_movement.h - parameter checks and helpers of the concat and pad
 * kernels.
 */
#ifndef FP_DATA_MOVEMENT_H
#define FP_DATA_MOVEMENT_H

#include "fp_types.h"
#include "fp_requant.h"
#include "fp_misc_check.h"

/* Total axis length of a valid concat; 0 when the params are not legal:
 * 1..8 inputs, positive outer / inner / axis sizes, output count <= INT32_MAX,
 * a legal mode and scales, offsets legal for the element type (type_min). */
static inline int32_t fp_concat_axis_total(const fp_concat_params_t *p, int32_t type_min)
{
    int64_t total = 0;
    int32_t i;
    if (p->n_inputs < 1 || p->n_inputs > 8 || p->outer < 1 || p->inner < 1 ||
        !fp_mode_valid(p->mode) || !fp_output_offset_valid(p->output_offset, type_min)) {
        return 0;
    }
    for (i = 0; i < p->n_inputs; ++i) {
        if (p->axis_size[i] < 1 || !fp_scale32_valid(p->input_scale[i], p->mode) ||
            !fp_input_offset_valid(p->input_offset[i], type_min)) {
            return 0;
        }
        total += p->axis_size[i]; /* at most 8 * INT32_MAX */
    }
    /* Checked one factor at a time so no product can overflow int64. */
    if (total > INT32_MAX || total * p->inner > INT32_MAX ||
        total * p->inner * p->outer > INT32_MAX) {
        return 0;
    }
    return (int32_t)total;
}

/* 1 when requant(x + input_offset) + output_offset == x for every x in
 * [lo, hi], so the input may be copied verbatim (same result as the general
 * path, only faster). Recognised: offsets that cancel and a scale that is an
 * exact power-of-two identity in the mode, with no saturation on the way. */
static inline int fp_concat_is_identity(int32_t input_offset, int32_t output_offset,
                                        fp_scale_t scale, fp_rq_mode_t mode, int32_t lo,
                                        int32_t hi)
{
    int64_t reach = -(int64_t)lo > (int64_t)hi ? -(int64_t)lo : (int64_t)hi;
    int32_t bits = (int32_t)mode.multiplier_bits;
    if ((int64_t)input_offset + output_offset != 0) {
        return 0;
    }
    reach += input_offset >= 0 ? input_offset : -(int64_t)input_offset; /* max |x + offset| */
    if (mode.acc_bits != 0 && mode.acc_bits < 32) {
        return 0; /* a narrow accumulator may clip: take the requantizing path */
    }
    if (mode.rounding == (uint8_t)FP_ROUND_SHIFT_ONLY) {
        return scale.shift == 0;
    }
    if (mode.rounding == (uint8_t)FP_ROUND_SINGLE || mode.rounding == (uint8_t)FP_ROUND_HALF_EVEN) {
        /* x * 2^t / 2^t with t = (bits - 1) - shift: exact, no rounding. */
        int32_t t = (bits - 1) - scale.shift;
        return t >= 1 && t <= 30 && scale.multiplier == ((int32_t)1 << t);
    }
    /* DOUBLE: (x * 2^s) * 2^(31-s) / 2^31 with the Q31 multiplier 2^(31-s),
     * exact when |x| * 2^s does not saturate. */
    if (scale.shift < 1 || scale.shift > bits - 1) {
        return 0;
    }
    return scale.multiplier == ((int32_t)1 << (bits - 1 - scale.shift)) &&
           (reach << scale.shift) < ((int64_t)1 << 31);
}

/* One element of a non-identity concat input: clamp(requant(x + input_offset)
 * + output_offset) to the element type [lo, hi]. */
static inline int32_t fp_concat_elem(int32_t x, int32_t input_offset, fp_scale_t scale,
                                     fp_rq_mode_t mode, int32_t output_offset, int32_t lo,
                                     int32_t hi)
{
    int32_t v = fp_sat_s32((int64_t)x + input_offset);
    int32_t raw = fp_requant32(v, scale.multiplier, scale.shift, mode);
    return fp_clamp_s64((int64_t)raw + output_offset, lo, hi);
}

/* 1 when the pad params are legal for an element type [lo, hi]. */
static inline int fp_pad_params_valid(const fp_pad_params_t *p, int32_t lo, int32_t hi)
{
    int32_t in[4];
    int32_t out[4];
    int k;
    if (fp_dims_count(&p->input) == 0 || fp_dims_count(&p->output) == 0 || p->pad_value < lo ||
        p->pad_value > hi || p->mode < 0 || p->mode > 3) {
        return 0;
    }
    in[0] = p->input.n;
    in[1] = p->input.h;
    in[2] = p->input.w;
    in[3] = p->input.c;
    out[0] = p->output.n;
    out[1] = p->output.h;
    out[2] = p->output.w;
    out[3] = p->output.c;
    for (k = 0; k < 4; ++k) {
        if (p->pad_before[k] < 0 || (int64_t)in[k] + p->pad_before[k] > (int64_t)out[k]) {
            return 0;
        }
        /* reflect mirrors inside the input: neither side may exceed dim - 1 */
        if (p->mode == 1 && (p->pad_before[k] > in[k] - 1 ||
                             (int64_t)out[k] - in[k] - p->pad_before[k] > (int64_t)in[k] - 1)) {
            return 0;
        }
    }
    return 1;
}

/* Flat input pixel ((n * H + h) * W + w) that output pixel (n, h, w) of a
 * valid pad copies, or -1 when that output pixel is all padding. */
static inline int32_t fp_pad_src_pixel(const fp_pad_params_t *p, int32_t n, int32_t h, int32_t w)
{
    const int32_t in_n = n - p->pad_before[0];
    const int32_t in_h = h - p->pad_before[1];
    const int32_t in_w = w - p->pad_before[2];
    if (in_n < 0 || in_n >= p->input.n || in_h < 0 || in_h >= p->input.h || in_w < 0 ||
        in_w >= p->input.w) {
        return -1;
    }
    return (in_n * p->input.h + in_h) * p->input.w + in_w;
}

/* Input index of output index o along a dim of a valid reflect (mode 1),
 * edge (mode 2) or wrap (mode 3) pad. */
static inline int32_t fp_pad_mirror(int32_t mode, int32_t o, int32_t before, int32_t in_size)
{
    int32_t i = o - before; /* 0 <= o < out <= INT32_MAX and 0 <= before: no overflow */
    if (mode == 3) {
        i %= in_size; /* C99 truncates toward zero: a remainder in (-in_size, in_size) */
        return i < 0 ? i + in_size : i;
    }
    if (i < 0) {
        i = mode == 1 ? -i : 0;
    } else if (i >= in_size) {
        i = mode == 1 ? 2 * (in_size - 1) - i : in_size - 1;
    }
    return i;
}

/* Flat input pixel ((n * H + h) * W + w) of output pixel (n, h, w) of a
 * valid reflect / edge / wrap pad; the channel is mapped by the caller. */
static inline int32_t fp_pad_mirror_pixel(const fp_pad_params_t *p, int32_t n, int32_t h, int32_t w)
{
    const int32_t in_n = fp_pad_mirror(p->mode, n, p->pad_before[0], p->input.n);
    const int32_t in_h = fp_pad_mirror(p->mode, h, p->pad_before[1], p->input.h);
    const int32_t in_w = fp_pad_mirror(p->mode, w, p->pad_before[2], p->input.w);
    return (in_n * p->input.h + in_h) * p->input.w + in_w;
}

#endif /* FP_DATA_MOVEMENT_H */
