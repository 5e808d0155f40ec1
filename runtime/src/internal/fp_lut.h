/*
 * fp_lut.h - per-element arithmetic and parameter checks of the table (lut),
 * prelu and minimum / maximum kernels (TFLite reference integer kernels).
 * Shared by the s8 and s16 variants so both compute the same thing.
 *
 * As in fp_elementwise.h, x + offset and products are formed in int64 and
 * saturated to int32 before a requantization, so no parameter causes UB.
 */
#ifndef FP_LUT_H
#define FP_LUT_H

#include "fp_types.h"
#include "fp_requant.h"
#include "fp_misc_check.h"
#include "fp_broadcast.h"

#define FP_LUT_S16_ENTRIES 513

static inline int fp_lut_params_valid(const fp_lut_params_t *p)
{
    return p->size >= 1 && p->table != NULL;
}

/* floor(num / 128) without shifting a negative value (implementation-defined in C99). */
static inline int32_t fp_floor_div128(int32_t num)
{
    return num >= 0 ? num / 128 : -((-num + 127) / 128);
}

/* TFLite's int16 LUT lookup: 512 segments of 128 inputs, linear interpolation
 * between table[i] and table[i + 1] with the 7 fractional bits, rounded half up. */
static inline int32_t fp_lut_s16_elem(const int16_t *table, int32_t x)
{
    int32_t u = x + 32768;           /* 0..65535 */
    int32_t i = u >> 7;              /* 0..511 */
    int32_t f = u & 127;
    int32_t base = table[i];
    int32_t slope = (int32_t)table[i + 1] - base; /* |slope| < 2^16: no overflow below */
    int32_t v = base + fp_floor_div128(slope * f + 64);
    return fp_clamp_s64(v, FP_S16_MIN, FP_S16_MAX);
}

static inline int fp_prelu_params_valid(const fp_prelu_params_t *p, int32_t lo, int32_t hi)
{
    return p->size >= 1 && p->channels >= 1 && p->size % p->channels == 0 && p->alpha != NULL &&
           fp_mode_valid(p->mode) && fp_scale32_valid(p->identity_scale, p->mode) &&
           fp_scale32_valid(p->alpha_scale, p->mode) &&
           fp_input_offset_valid(p->input_offset, lo) &&
           fp_output_offset_valid(p->output_offset, lo) &&
           fp_act_valid(p->act_min, p->act_max, lo, hi);
}

/* TFLite reference Prelu: the sign of the offset input picks the identity
 * multiplier or the alpha product's multiplier. */
static inline int32_t fp_prelu_elem(const fp_prelu_params_t *p, int32_t x, int32_t alpha)
{
    int32_t v = fp_sat_s32((int64_t)x + p->input_offset);
    int32_t raw;
    if (v >= 0) {
        raw = fp_requant32(v, p->identity_scale.multiplier, p->identity_scale.shift, p->mode);
    } else {
        int32_t a = fp_sat_s32((int64_t)alpha + p->alpha_offset);
        raw = fp_requant32(fp_sat_s32((int64_t)v * a), p->alpha_scale.multiplier,
                           p->alpha_scale.shift, p->mode);
    }
    return fp_clamp_s64((int64_t)raw + p->output_offset, p->act_min, p->act_max);
}

static inline int fp_minmax_params_valid(const fp_minmax_params_t *p, int32_t lo, int32_t hi,
                                         fp_bcast_t *bc)
{
    return fp_bcast_init(&p->input1, &p->input2, &p->output, bc) && fp_mode_valid(p->mode) &&
           fp_scale32_valid(p->input1_scale, p->mode) &&
           fp_scale32_valid(p->input2_scale, p->mode) &&
           fp_input_offset_valid(p->input1_offset, lo) &&
           fp_input_offset_valid(p->input2_offset, lo) &&
           fp_output_offset_valid(p->output_offset, lo) &&
           fp_act_valid(p->act_min, p->act_max, lo, hi);
}

/* Each input rescaled to the output scale; is_max picks the larger. */
static inline int32_t fp_minmax_elem(const fp_minmax_params_t *p, int32_t x1, int32_t x2, int is_max)
{
    int32_t a = fp_requant32(fp_sat_s32((int64_t)x1 + p->input1_offset), p->input1_scale.multiplier,
                             p->input1_scale.shift, p->mode);
    int32_t b = fp_requant32(fp_sat_s32((int64_t)x2 + p->input2_offset), p->input2_scale.multiplier,
                             p->input2_scale.shift, p->mode);
    int32_t r = is_max ? (a > b ? a : b) : (a < b ? a : b);
    return fp_clamp_s64((int64_t)r + p->output_offset, p->act_min, p->act_max);
}

#endif /* FP_LUT_H */
