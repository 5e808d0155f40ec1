/*
 * fp_int4.h - unpacking of packed signed 4-bit weights (s4 datapath).
 *
 * Packing (fp_runtime.h, sdk/fixpoint/reference/int4.py): the filter tensor is
 * flattened in its natural order; element 2k lives in the low nibble of byte
 * k, element 2k+1 in the high nibble; an odd final element leaves the high
 * nibble 0. Each nibble is a two's-complement value in [-8, 7].
 */
#ifndef FP_INT4_H
#define FP_INT4_H

#include <stdint.h>

/* Sign-extend a 4-bit two's-complement nibble (0..15) to [-8, 7]. */
static inline int8_t fp_int4_sext(uint8_t nibble)
{
    int32_t v = (int32_t)(nibble & 0x0Fu);
    return (int8_t)(v >= 8 ? v - 16 : v);
}

/* Element `index` (>= 0) of a packed int4 tensor. */
static inline int8_t fp_int4_get(const int8_t *packed, int32_t index)
{
    uint8_t byte = (uint8_t)packed[index >> 1];
    return fp_int4_sext((index & 1) ? (uint8_t)(byte >> 4) : byte);
}

/* Unpack elements [first, first + count) of a packed tensor into dst. */
static inline void fp_int4_unpack(const int8_t *packed, int32_t first, int32_t count, int8_t *dst)
{
    int32_t i = 0;
    if (count > 0 && (first & 1)) {
        dst[i++] = fp_int4_get(packed, first);
    }
    /* now first + i is even: take whole bytes */
    for (; i + 1 < count; i += 2) {
        uint8_t byte = (uint8_t)packed[(first + i) >> 1];
        dst[i] = fp_int4_sext(byte);
        dst[i + 1] = fp_int4_sext((uint8_t)(byte >> 4));
    }
    if (i < count) {
        dst[i] = fp_int4_get(packed, first + i);
    }
}

#endif /* FP_INT4_H */
