/*
 * fw_frame.h - framing of the serial protocol (docs/serial-protocol.md).
 *
 *   A5 5A | len u16 LE | seq u8 | cmd u8 | payload[len] | crc32 u32 LE
 *
 * The CRC covers len, seq, cmd and payload. The parser is a byte-at-a-time
 * state machine over a bounded buffer: it never holds more than one frame,
 * rejects a length above FW_MAX_PAYLOAD as soon as the header is complete,
 * and after any rejected frame replays the bytes that followed its first
 * SYNC byte, so a real frame hidden behind garbage or a truncated frame is
 * still found without any timing assumption.
 */
#ifndef FW_FRAME_H
#define FW_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "fw_config.h"

#define FW_SYNC0 0xA5u
#define FW_SYNC1 0x5Au
#define FW_HEADER_BYTES 6u
#define FW_CRC_BYTES 4u
#define FW_FRAME_OVERHEAD (FW_HEADER_BYTES + FW_CRC_BYTES)
#define FW_FRAME_MAX (FW_MAX_PAYLOAD + FW_FRAME_OVERHEAD)

typedef struct {
    uint8_t seq;
    uint8_t cmd;
    uint16_t len;
    const uint8_t *payload; /* valid until the next fw_parser_feed() */
} fw_frame_t;

typedef enum {
    FW_EV_NONE = 0,       /* byte consumed, nothing complete yet */
    FW_EV_FRAME = 1,      /* *frame holds a good frame */
    FW_EV_BAD_CRC = 2,    /* header complete but CRC wrong; frame->seq/cmd set */
    FW_EV_BAD_LENGTH = 3  /* header announces len > FW_MAX_PAYLOAD; seq/cmd set */
} fw_event_t;

typedef struct {
    uint8_t buf[FW_FRAME_MAX];    /* the frame being collected, from SYNC0 */
    uint32_t count;               /* bytes in buf */
    uint8_t replay[FW_FRAME_MAX]; /* bytes to re-parse after a rejected frame */
    uint32_t replay_len;
    uint32_t replay_pos;
} fw_parser_t;

void fw_parser_init(fw_parser_t *p);
/* Take the next byte the parser wants to see again (1), or 0 if none: the
 * caller then reads a fresh byte from the link. */
int fw_parser_take_replay(fw_parser_t *p, uint8_t *byte);
fw_event_t fw_parser_feed(fw_parser_t *p, uint8_t byte, fw_frame_t *frame);

/* Complete a frame whose payload is already at out + FW_HEADER_BYTES:
 * writes sync, header and CRC; returns the total frame size. */
size_t fw_frame_finish(uint8_t *out, uint8_t seq, uint8_t cmd, uint16_t len);

#endif /* FW_FRAME_H */
