/* fw_crc32.h - CRC-32/IEEE (zlib, Ethernet): poly 0xEDB88320 reflected,
 * init 0xFFFFFFFF, final xor 0xFFFFFFFF; crc of "123456789" = 0xCBF43926. */
#ifndef FW_CRC32_H
#define FW_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continue a CRC: pass 0 for the first block. */
uint32_t fw_crc32_update(uint32_t crc, const uint8_t *data, size_t len);

#endif /* FW_CRC32_H */
