/*
 * fp_lowbit.h - unpacking of packed 2-bit (ternary, s2 datapath) and 1-bit
 * (binary, s1 datapath) weights.
 *
 * Packing (fp_runtime.h, sdk/fixpoint/reference/lowbit.py): the filter tensor
 * is flattened in its natural order, least significant bits first.
 *   s2: element k lives in bits 2*(k%4) .. 2*(k%4)+1 of byte k/4, as a 2-bit
 *       two's-complement value (00 = 0, 01 = +1, 11 = -1; 10 decodes to -2,
 *       which the quantizer never writes). Unused high bits of the last byte 0.
 *   s1: element k is bit k%8 of byte k/8: 1 = +1, 0 = -1. Unused high bits 0.
 */
#ifndef FP_LOWBIT_H
#define FP_LOWBIT_H

#include <stdint.h>

/* Element `index` (>= 0) of a packed 2-bit tensor, in [-2, 1]. */
static inline int8_t fp_int2_get(const int8_t *packed, int32_t index)
{
    const uint32_t byte = (uint32_t)(uint8_t)packed[index >> 2];
    const int32_t v = (int32_t)((byte >> (2u * (uint32_t)(index & 3))) & 3u);
    return (int8_t)(v >= 2 ? v - 4 : v);
}

/* Element `index` (>= 0) of a packed 1-bit tensor: -1 or +1. */
static inline int8_t fp_int1_get(const int8_t *packed, int32_t index)
{
    const uint32_t byte = (uint32_t)(uint8_t)packed[index >> 3];
    return (int8_t)(((byte >> (uint32_t)(index & 7)) & 1u) ? 1 : -1);
}

/* Unpack elements [first, first + count) of a packed 2-bit tensor into dst. */
static inline void fp_int2_unpack(const int8_t *packed, int32_t first, int32_t count, int8_t *dst)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        dst[i] = fp_int2_get(packed, first + i);
    }
}

/* Unpack elements [first, first + count) of a packed 1-bit tensor into dst. */
static inline void fp_int1_unpack(const int8_t *packed, int32_t first, int32_t count, int8_t *dst)
{
    int32_t i;
    for (i = 0; i < count; ++i) {
        dst[i] = fp_int1_get(packed, first + i);
    }
}

#endif /* FP_LOWBIT_H */
