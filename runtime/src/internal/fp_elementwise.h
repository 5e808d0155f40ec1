/*
 * fp_elementwise.h - per-element arithmetic and parameter checks of the
 * add / mul / leaky relu / requantize kernels (TFLite reference integer
 * kernels). Shared by the s8 and s16 variants so both compute the same thing.
 *
 * Offsets are checked against the tensor types (fp_input_offset_valid /
 * fp_output_offset_valid: int8 zero points, int16 zero point 0). Where TFLite
 * computes in int32 and assumes no overflow (large left shifts, huge
 * multipliers), we widen to int64 and saturate to int32 before each
 * requantization, so no parameter can cause undefined behaviour.
 */
#ifndef FP_ELEMENTWISE_H
#define FP_ELEMENTWISE_H

#include "fp_types.h"
#include "fp_requant.h"
#include "fp_misc_check.h"
#include "fp_broadcast.h"

/* Legal left_shift of the add kernel: (x + offset) * 2^left_shift is formed
 * in int64 and saturated to int32, so any shift up to 31 is well defined. */
#define FP_ADD_MAX_LEFT_SHIFT 31

static inline int fp_add_params_valid(const fp_add_params_t *p, int32_t lo, int32_t hi,
                                      fp_bcast_t *bc)
{
    return fp_bcast_init(&p->input1, &p->input2, &p->output, bc) && fp_mode_valid(p->mode) &&
           fp_scale32_valid(p->input1_scale, p->mode) &&
           fp_scale32_valid(p->input2_scale, p->mode) &&
           fp_scale32_valid(p->output_scale, p->mode) && p->left_shift >= 0 &&
           p->left_shift <= FP_ADD_MAX_LEFT_SHIFT && (p->subtract == 0 || p->subtract == 1) &&
           fp_input_offset_valid(p->input1_offset, lo) &&
           fp_input_offset_valid(p->input2_offset, lo) &&
           fp_output_offset_valid(p->output_offset, lo) &&
           fp_act_valid(p->act_min, p->act_max, lo, hi);
}

/* TFLite AddElementwise: each input is offset, shifted left by left_shift and
 * rescaled to the common scale; the sum (the difference for subtract, TFLite's
 * SubElementwise) is rescaled to the output scale.
 * The second term is sat(sb * sign), sign = 1 - 2 * subtract (subtract is 0
 * or 1, checked): sat(sb) = sb for Add, sat(-sb) for Sub (INT32_MIN ->
 * INT32_MAX), the same values a branch gives for every sb. Written as a
 * multiply, not a branch, so gcc does not duplicate the element loop per
 * mode (-O2 unswitching cost every Add model's fp_add_s8 344 bytes on the
 * Cortex-M4; this form is smaller than the add-only code was). */
static inline int32_t fp_add_elem(const fp_add_params_t *p, int32_t x1, int32_t x2)
{
    int64_t pot = (int64_t)1 << p->left_shift;
    int32_t a = fp_sat_s32(((int64_t)x1 + p->input1_offset) * pot);
    int32_t b = fp_sat_s32(((int64_t)x2 + p->input2_offset) * pot);
    int32_t sa = fp_requant32(a, p->input1_scale.multiplier, p->input1_scale.shift, p->mode);
    int32_t sb = fp_requant32(b, p->input2_scale.multiplier, p->input2_scale.shift, p->mode);
    int64_t sign = 1 - 2 * (int64_t)p->subtract;
    int32_t raw = fp_requant32(fp_add_sat_s32(sa, fp_sat_s32((int64_t)sb * sign)),
                               p->output_scale.multiplier,
                               p->output_scale.shift, p->mode);
    return fp_clamp_s64((int64_t)raw + p->output_offset, p->act_min, p->act_max);
}

static inline int fp_mul_params_valid(const fp_mul_params_t *p, int32_t lo, int32_t hi,
                                      fp_bcast_t *bc)
{
    return fp_bcast_init(&p->input1, &p->input2, &p->output, bc) && fp_mode_valid(p->mode) &&
           fp_scale32_valid(p->output_scale, p->mode) &&
           fp_input_offset_valid(p->input1_offset, lo) &&
           fp_input_offset_valid(p->input2_offset, lo) &&
           fp_output_offset_valid(p->output_offset, lo) &&
           fp_act_valid(p->act_min, p->act_max, lo, hi);
}

/* TFLite MulElementwise: product of the offset inputs, rescaled. */
static inline int32_t fp_mul_elem(const fp_mul_params_t *p, int32_t x1, int32_t x2)
{
    /* |x + offset| <= 2^31 + 2^15, so the int64 product cannot overflow. */
    int32_t prod =
        fp_sat_s32(((int64_t)x1 + p->input1_offset) * ((int64_t)x2 + p->input2_offset));
    int32_t raw = fp_requant32(prod, p->output_scale.multiplier, p->output_scale.shift, p->mode);
    return fp_clamp_s64((int64_t)raw + p->output_offset, p->act_min, p->act_max);
}

static inline int fp_leaky_relu_params_valid(const fp_leaky_relu_params_t *p, int32_t lo,
                                             int32_t hi)
{
    return p->size >= 1 && fp_mode_valid(p->mode) &&
           fp_scale32_valid(p->identity_scale, p->mode) &&
           fp_scale32_valid(p->alpha_scale, p->mode) &&
           fp_input_offset_valid(p->input_offset, lo) &&
           fp_output_offset_valid(p->output_offset, lo) &&
           fp_act_valid(p->act_min, p->act_max, lo, hi);
}

/* TFLite QuantizeLeakyRelu: the sign of the offset input picks the scale. */
static inline int32_t fp_leaky_relu_elem(const fp_leaky_relu_params_t *p, int32_t x)
{
    int32_t v = fp_sat_s32((int64_t)x + p->input_offset);
    const fp_scale_t *s = v >= 0 ? &p->identity_scale : &p->alpha_scale;
    int32_t raw = fp_requant32(v, s->multiplier, s->shift, p->mode);
    return fp_clamp_s64((int64_t)raw + p->output_offset, p->act_min, p->act_max);
}

/* in_min: smallest value of the input type; [lo, hi]: the output type. */
static inline int fp_requantize_params_valid(const fp_requantize_params_t *p, int32_t in_min,
                                             int32_t lo, int32_t hi)
{
    return p->size >= 1 && fp_mode_valid(p->mode) && fp_scale32_valid(p->scale, p->mode) &&
           fp_input_offset_valid(p->input_offset, in_min) &&
           fp_output_offset_valid(p->output_offset, lo) &&
           fp_act_valid(p->act_min, p->act_max, lo, hi);
}

/* TFLite Requantize: out = clamp(requant(x + input_offset) + output_offset). */
static inline int32_t fp_requantize_elem(const fp_requantize_params_t *p, int32_t x)
{
    int32_t v = fp_sat_s32((int64_t)x + p->input_offset);
    int32_t raw = fp_requant32(v, p->scale.multiplier, p->scale.shift, p->mode);
    return fp_clamp_s64((int64_t)raw + p->output_offset, p->act_min, p->act_max);
}

#endif /* FP_ELEMENTWISE_H */
