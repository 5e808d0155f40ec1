/* fw_frame.c - frame parser and encoder; pure, no I/O (see fw_frame.h). */
#include "fw_frame.h"

#include <string.h>

#include "fw_bytes.h"
#include "fw_crc32.h"

void fw_parser_init(fw_parser_t *p)
{
    p->count = 0;
    p->replay_len = 0;
    p->replay_pos = 0;
}

int fw_parser_take_replay(fw_parser_t *p, uint8_t *byte)
{
    if (p->replay_pos >= p->replay_len) {
        return 0;
    }
    *byte = p->replay[p->replay_pos++];
    return 1;
}

/* Drop the first byte of the collected frame and queue the rest for re-parsing
 * ahead of any bytes still queued. Bounded: if replay bytes are pending, every
 * byte of the current frame came out of the replay queue, so the two parts
 * together never exceed its capacity. */
static void fw_parser_reject(fw_parser_t *p)
{
    uint32_t keep = p->count - 1u;
    uint32_t rest = p->replay_len - p->replay_pos;

    memmove(p->replay + keep, p->replay + p->replay_pos, rest);
    memcpy(p->replay, p->buf + 1, keep);
    p->replay_len = keep + rest;
    p->replay_pos = 0;
    p->count = 0;
}

static uint16_t fw_parser_len(const fw_parser_t *p)
{
    return fw_get_u16(p->buf + 2);
}

static void fw_parser_fill(const fw_parser_t *p, fw_frame_t *frame)
{
    frame->len = fw_parser_len(p);
    frame->seq = p->buf[4];
    frame->cmd = p->buf[5];
    frame->payload = p->buf + FW_HEADER_BYTES;
}

/* Sync bytes: stay in hunt mode until A5 5A; an A5 in place of the 5A may
 * itself start the frame, so it is kept. */
static void fw_parser_hunt(fw_parser_t *p, uint8_t byte)
{
    if (p->count == 1u && byte == FW_SYNC1) {
        p->buf[p->count++] = byte;
        return;
    }
    p->count = 0;
    if (byte == FW_SYNC0) {
        p->buf[p->count++] = byte;
    }
}

static fw_event_t fw_parser_check(fw_parser_t *p, fw_frame_t *frame)
{
    uint32_t len = fw_parser_len(p);
    uint32_t body = FW_HEADER_BYTES + len;
    uint32_t crc;

    if (p->count == FW_HEADER_BYTES && len > FW_MAX_PAYLOAD) {
        fw_parser_fill(p, frame);
        fw_parser_reject(p);
        return FW_EV_BAD_LENGTH;
    }
    if (p->count < body + FW_CRC_BYTES) {
        return FW_EV_NONE;
    }
    fw_parser_fill(p, frame);
    crc = fw_crc32_update(0, p->buf + 2, body - 2u);
    if (crc != fw_get_u32(p->buf + body)) {
        fw_parser_reject(p);
        return FW_EV_BAD_CRC;
    }
    p->count = 0; /* buf keeps the payload until the next feed */
    return FW_EV_FRAME;
}

fw_event_t fw_parser_feed(fw_parser_t *p, uint8_t byte, fw_frame_t *frame)
{
    if (p->count < 2u) {
        fw_parser_hunt(p, byte);
        return FW_EV_NONE;
    }
    p->buf[p->count++] = byte;
    if (p->count < FW_HEADER_BYTES) {
        return FW_EV_NONE;
    }
    return fw_parser_check(p, frame);
}

size_t fw_frame_finish(uint8_t *out, uint8_t seq, uint8_t cmd, uint16_t len)
{
    uint32_t body = FW_HEADER_BYTES + (uint32_t)len;

    out[0] = FW_SYNC0;
    out[1] = FW_SYNC1;
    fw_put_u16(out + 2, len);
    out[4] = seq;
    out[5] = cmd;
    fw_put_u32(out + body, fw_crc32_update(0, out + 2, body - 2u));
    return body + FW_CRC_BYTES;
}
