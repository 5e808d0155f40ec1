/* fw_bytes.h - little-endian field access; the wire format is always LE. */
#ifndef FW_BYTES_H
#define FW_BYTES_H

#include <stdint.h>

static inline uint16_t fw_get_u16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | (uint16_t)((uint16_t)p[1] << 8));
}

static inline uint32_t fw_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline void fw_put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static inline void fw_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}

static inline void fw_put_u64(uint8_t *p, uint64_t v)
{
    fw_put_u32(p, (uint32_t)(v & 0xFFFFFFFFu));
    fw_put_u32(p + 4, (uint32_t)(v >> 32));
}

/* Signed values travel as their two's complement bit pattern. */
static inline void fw_put_s32(uint8_t *p, int32_t v)
{
    fw_put_u32(p, (uint32_t)v);
}

#endif /* FW_BYTES_H */
