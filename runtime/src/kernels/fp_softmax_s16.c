/*
 * fp_softmax_s16 - softmax over one axis of [outer, depth, inner], int16 in
 * (zero point 0), int16 out (scale 1/32768, zero point 0): TFLite's reference
 * SoftmaxInt16 with the 513-entry exp and 1/(1+x) lookup tables.
 *
 * Per row: diff = x - max(row) is rescaled by input_multiplier /
 * input_left_shift so that [-65535, 0] spans [-10, 0], recentred to int16 and
 * looked up in exp_lut (Q15); the Q15 sum is normalised and its reciprocal
 * looked up in one_over_one_plus_x_lut; each exp is multiplied by it.
 * The exps are recomputed in the second pass instead of stored (TFLite keeps
 * them in a std::vector), which gives the same values without scratch.
 * Deviation from TFLite, only where TFLite overflows or shifts out of range:
 * the sum is accumulated in int64 and saturated to [1, INT32_MAX] (a table
 * with non-positive exps would otherwise give a zero or negative sum).
 */
#include "fp_runtime.h"
#include "../internal/fp_fixedpoint.h"
#include "../internal/fp_misc_check.h"
#include "../internal/fp_softmax_s8_common.h"

static int32_t fp_softmax_s16_exp(const fp_softmax_params_t *p, int32_t diff)
{
    static const fp_rq_mode_t tflite_mode = {FP_ROUND_DOUBLE, 32, 0, 0};
    int32_t scaled = fp_requant32(diff, p->input_multiplier, p->input_left_shift, tflite_mode);
    int32_t symmetric = fp_clamp_s64((int64_t)scaled + 32767, FP_S16_MIN, FP_S16_MAX);
    return fp_lut_lookup_s16(symmetric, p->exp_lut);
}

fp_status_t fp_softmax_s16(const fp_softmax_params_t *params, const int16_t *input,
                           int16_t *output)
{
    int32_t r, c;
    if (params == NULL || input == NULL || output == NULL || params->exp_lut == NULL ||
        params->one_over_one_plus_x_lut == NULL || !fp_softmax_geometry_ok(params) ||
        params->input_multiplier < 0 ||
        params->input_left_shift < -31 || params->input_left_shift > 31) {
        return FP_ERR_ARG;
    }
    for (r = 0; r < params->rows; ++r) {
        const int32_t base = fp_softmax_row_base(params, r);
        const int16_t *in = input + base;
        int16_t *out = output + base;
        int32_t max_in_row = FP_S16_MIN;
        int64_t sum64 = 0;
        int32_t sum, headroom_plus_one, shifted_sum, reciprocal, right_shift;
        int64_t round;
        for (c = 0; c < params->depth; ++c) {
            max_in_row = fp_max_s32(max_in_row, in[c * params->inner]);
        }
        for (c = 0; c < params->depth; ++c) {
            sum64 += fp_softmax_s16_exp(params, in[c * params->inner] - max_in_row);
        }
        sum = fp_clamp_s64(sum64, 1, INT32_MAX); /* Q16.15 */
        headroom_plus_one = fp_clz32((uint32_t)sum); /* 1..31 */
        /* Normalise the sum to [2^16, 2^17] (Q1.15 of a value in [1, 2]). */
        shifted_sum = (int32_t)((((int64_t)sum << (headroom_plus_one - 1)) + (1 << 13)) >> 14);
        /* 1/(1+x) with x = sum - 1, recentred from [0, 65535] to int16. */
        reciprocal = fp_lut_lookup_s16(
            fp_clamp_s64((int64_t)shifted_sum - ((1 << 15) + (1 << 16)), FP_S16_MIN, FP_S16_MAX),
            params->one_over_one_plus_x_lut);
        right_shift = 31 - headroom_plus_one; /* 0..30 */
        round = right_shift > 0 ? ((int64_t)1 << (right_shift - 1)) : 0;
        for (c = 0; c < params->depth; ++c) {
            int32_t e = fp_softmax_s16_exp(params, in[c * params->inner] - max_in_row);
            int64_t result = fp_asr64((int64_t)e * reciprocal + round, right_shift);
            out[c * params->inner] = (int16_t)fp_clamp_s64(result, 0, FP_S16_MAX);
        }
    }
    return FP_OK;
}
