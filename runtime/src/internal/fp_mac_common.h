/*
 * fp_mac_common.h - pieces shared by the multiply-accumulate kernels (conv2d,
 * depthwise conv2d, fully connected; s8 / s4 / s16 datapaths): the offset /
 * activation range check and the per-output-channel epilogue (bias,
 * requantization, output offset, clamp), plus the dot products of the hot
 * loops. Kept in one place so the datapath variants cannot drift apart;
 * per-element-type loops stay plain functions (no callbacks in hot loops).
 */
#ifndef FP_MAC_COMMON_H
#define FP_MAC_COMMON_H

#include "fp_types.h"
#include "fp_requant.h"

/* Input offsets the int8 multiply-accumulate kernels compute with: every
 * product term (x + input_offset) * w of int8 x and w fits an int32, i.e.
 * |x + input_offset| <= 2^24 - 1 for every int8 x. TFLite's int8 zero points
 * give [-127, 128]; the wider range is exact here too (refused: only offsets
 * whose terms would overflow TFLite's int32 products). */
#define FP_MAC_S8_INPUT_OFFSET_MIN (-16777087)
#define FP_MAC_S8_INPUT_OFFSET_MAX 16777088

/* max |v + offset| over int8 v, exact for every int32 offset */
static inline int64_t fp_s8_reach(int32_t offset)
{
    const int64_t hi = (int64_t)offset + 127;
    const int64_t lo = (int64_t)offset - 128;
    const int64_t a = hi < 0 ? -hi : hi;
    const int64_t b = lo < 0 ? -lo : lo;
    return a > b ? a : b;
}

/* Terms per int32 partial sum of an int8 dot product with a legal input
 * offset (|term| <= fp_s8_reach(input_offset) * 128 <= INT32_MAX); the usual
 * zero-point offsets take the constant FP_MAC_BLOCK. */
static inline int32_t fp_mac_block_s8(int32_t input_offset)
{
    if (input_offset >= -127 && input_offset <= 128) {
        return FP_MAC_BLOCK;
    }
    return (int32_t)(INT32_MAX / (fp_s8_reach(input_offset) * 128));
}

/* 1 when the offsets and activation range lie in the datapath's ranges:
 * int8 datapath input offset in [FP_MAC_S8_INPUT_OFFSET_MIN,
 * FP_MAC_S8_INPUT_OFFSET_MAX], any int32 output offset (added with
 * saturation, then clamped), activations in int8; int16 datapath offsets
 * [0, 0] (zero point 0; TFLite's 16x8 kernels ignore them) and activations
 * in int16. */
static inline int fp_mac_ranges_ok(int32_t input_offset, int32_t output_offset, int32_t act_min,
                                   int32_t act_max, int32_t in_lo, int32_t in_hi, int32_t out_lo,
                                   int32_t out_hi, int32_t act_lo, int32_t act_hi)
{
    return input_offset >= in_lo && input_offset <= in_hi && output_offset >= out_lo
        && output_offset <= out_hi && act_min <= act_max && act_min >= act_lo
        && act_max <= act_hi;
}

/* int8 datapath epilogue of output channel oc: add the int32 bias, saturate
 * the exact int64 sum to int32 (TFLite assumes it never overflows),
 * requantize, add the output offset, clamp to [act_min, act_max]. */
static inline int32_t fp_mac_out_acc32(int64_t acc, const int32_t *bias, int32_t oc,
                                       const fp_requant_t *rq, int32_t output_offset,
                                       int32_t act_min, int32_t act_max)
{
    const int32_t i = rq->n == 1 ? 0 : oc;
    int32_t r;
    acc += bias != NULL ? bias[oc] : 0;
    r = fp_requant32(fp_sat_s32(acc), rq->multiplier[i], rq->shift[i], rq->mode);
    r = fp_add_sat_s32(r, output_offset);
    return fp_clamp_s32(r, act_min, act_max);
}

/* int16 datapath epilogue: the int64 bias is first clamped to +-2^62 (keeps
 * the addition overflow-free; cannot change the result because fp_requant64
 * saturates the accumulator to [-2^47, 2^47)); output offset is 0. */
static inline int32_t fp_mac_out_acc64(int64_t acc, const int64_t *bias, int32_t oc,
                                       const fp_requant_t *rq, int32_t act_min, int32_t act_max)
{
    const int32_t i = rq->n == 1 ? 0 : oc;
    int32_t r;
    if (bias != NULL) {
        acc += fp_sat_s64_range(bias[oc], -((int64_t)1 << 62), (int64_t)1 << 62);
    }
    r = fp_requant64(acc, rq->multiplier[i], rq->shift[i], rq->mode);
    return fp_clamp_s32(r, act_min, act_max);
}

/* sum_c (x[c] + input_offset) * w[c], exact. A legal input offset keeps
 * |term| <= fp_s8_reach(input_offset) * 128 (weights int8, or int4 unpacked
 * to int8), so a block of fp_mac_block_s8(input_offset) terms fits int32:
 * 32-bit multiply-accumulate in the hot loop, exact int64 across blocks. */
static inline int64_t fp_mac_dot_s8(const int8_t *x, const int8_t *w, int32_t n,
                                    int32_t input_offset)
{
    const int32_t block = fp_mac_block_s8(input_offset);
    int64_t acc = 0;
    int32_t c;
    for (c = 0; c < n;) {
        const int32_t end = n - c > block ? c + block : n;
        int32_t part = 0;
        for (; c < end; ++c) {
            part += (x[c] + input_offset) * (int32_t)w[c];
        }
        acc += part;
    }
    return acc;
}

/* sum_c x[c] * w[c] for int16 x int8, exact in int64 (|term| <= 2^22). */
static inline int64_t fp_mac_dot_s16(const int16_t *x, const int8_t *w, int32_t n)
{
    int64_t acc = 0;
    int32_t c;
    for (c = 0; c < n; ++c) {
        acc += (int32_t)x[c] * (int32_t)w[c];
    }
    return acc;
}

#endif /* FP_MAC_COMMON_H */
