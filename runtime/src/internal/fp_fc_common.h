/*
 * fp_fc_common.h - parameter checks shared by the fully connected kernels
 * (s8, s4, s16); the epilogue is fp_mac_common.h's. The dot-product loops
 * stay in each kernel (they differ in element type / weight unpacking).
 */
#ifndef FP_FC_COMMON_H
#define FP_FC_COMMON_H

#include "fp_types.h"
#include "fp_mac_common.h"

/* a * b when both are positive and the product fits an int32_t, else -1 */
static inline int32_t fp_fc_mul_pos(int32_t a, int32_t b)
{
    int64_t c;
    if (a <= 0 || b <= 0) {
        return -1;
    }
    c = (int64_t)a * b;
    return c > INT32_MAX ? -1 : (int32_t)c;
}

/* FC params legal for a datapath: input / output offsets in [in_lo, in_hi] /
 * [out_lo, out_hi], activations in [act_lo, act_hi], acc64 as for
 * fp_requant_legal. The filter offset may be any value for which every
 * product term fits int32 (TFLite's int8 zero points give [-127, 128]). */
static inline int fp_fc_params_ok(const fp_fully_connected_params_t *p, int32_t in_lo,
                                  int32_t in_hi, int32_t out_lo, int32_t out_hi, int32_t act_lo,
                                  int32_t act_hi, int acc64)
{
    /* every index the kernels form is < one of these three counts, so it fits int32 */
    if (fp_fc_mul_pos(p->batches, p->depth) < 0 || fp_fc_mul_pos(p->out_channels, p->depth) < 0
        || fp_fc_mul_pos(p->batches, p->out_channels) < 0) {
        return 0;
    }
    /* every term (x + input_offset) * (w + filter_offset) fits int32; act_lo
     * below INT8_MIN means int16 activations (input and output share the
     * type), whose offset is 0 and reach 2^15 */
    if (fp_s8_reach(p->filter_offset)
            * (act_lo < INT8_MIN ? (int64_t)32768 : fp_s8_reach(p->input_offset)) > INT32_MAX) {
        return 0;
    }
    if (!fp_mac_ranges_ok(p->input_offset, p->output_offset, p->act_min, p->act_max, in_lo,
                          in_hi, out_lo, out_hi, act_lo, act_hi)) {
        return 0;
    }
    return fp_requant_legal(&p->requant, p->out_channels, acc64);
}

/* sum_d x[d] * (w[d] + filter_offset) for int16 x, int8 w (s16 and
 * s16_acc32), exact: a legal filter_offset keeps every term within int32
 * (fp_fc_params_ok), the int64 sum of at most 2^31 such terms cannot overflow. */
static inline int64_t fp_fc_dot_s16(const int16_t *x, const int8_t *w, int32_t depth,
                                    int32_t filter_offset)
{
    int64_t acc = 0;
    int32_t d;
    for (d = 0; d < depth; ++d) {
        acc += (int32_t)x[d] * ((int32_t)w[d] + filter_offset);
    }
    return acc;
}

#endif /* FP_FC_COMMON_H */
