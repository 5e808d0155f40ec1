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
 * fp_requant_legal. The filter offset is int8 (-zp in [-127, 128]) on every
 * datapath. */
static inline int fp_fc_params_ok(const fp_fully_connected_params_t *p, int32_t in_lo,
                                  int32_t in_hi, int32_t out_lo, int32_t out_hi, int32_t act_lo,
                                  int32_t act_hi, int acc64)
{
    /* every index the kernels form is < one of these three counts, so it fits int32 */
    if (fp_fc_mul_pos(p->batches, p->depth) < 0 || fp_fc_mul_pos(p->out_channels, p->depth) < 0
        || fp_fc_mul_pos(p->batches, p->out_channels) < 0) {
        return 0;
    }
    if (p->filter_offset < -127 || p->filter_offset > 128) {
        return 0;
    }
    if (!fp_mac_ranges_ok(p->input_offset, p->output_offset, p->act_min, p->act_max, in_lo,
                          in_hi, out_lo, out_hi, act_lo, act_hi)) {
        return 0;
    }
    return fp_requant_legal(&p->requant, p->out_channels, acc64);
}

#endif /* FP_FC_COMMON_H */
