/*
 * fw_commands.h - command codes, status codes and the command dispatcher.
 * Byte layouts of every request and response: docs/serial-protocol.md.
 *
 * Every response payload starts with the same five bytes,
 *     status u8 | session u32
 * where `session` is the id the host last set with SESSION (0 after a boot):
 * a board that was reset behind the host's back answers with session 0, so
 * the host notices the reset on the very next response.
 */
#ifndef FW_COMMANDS_H
#define FW_COMMANDS_H

#include <stdint.h>

#include "fw_frame.h"

enum {
    FW_CMD_IDENTIFY = 0x01,
    FW_CMD_LOAD_INPUT = 0x02,  /* u32 offset, data */
    FW_CMD_RUN = 0x03,         /* u32 token, u32 input crc */
    FW_CMD_READ_OUTPUT = 0x04, /* u32 token, u32 offset, u16 length */
    FW_CMD_READ_TIMING = 0x05,
    FW_CMD_RESET = 0x06,
    FW_CMD_PING = 0x07,
    FW_CMD_RUN_LAYERS = 0x08,  /* u32 n, u32 input crc: run layers [0, n) only (debug read-back) */
    FW_CMD_READ_ARENA = 0x09,  /* u32 offset, u16 length: arena bytes (debug read-back) */
    FW_CMD_RUN_STATUS = 0x0A,  /* the outcome of the last executed RUN (lost-response recovery) */
    FW_CMD_SESSION = 0x0B,     /* u32 session: the id echoed in every later response */
    FW_CMD_LOAD_NEXT = 0x0C,   /* u32 offset, data: into the staging buffer (double buffering) */
    FW_CMD_RUN_NEXT = 0x0D,    /* u32 token, u32 input crc: staging -> input, RUN, output inline */
    FW_CMD_STATE_RESET = 0x0E, /* streaming (FW_STREAMING builds): recurrent state back to its initial value */
    FW_CMD_STEP = 0x0F,        /* u32 step index, step input: one fp_model_step, output and state inline */
    FW_CMD_READ_STATE = 0x10,  /* u32 offset, u16 length: recurrent state bytes */
    FW_CMD_RESPONSE = 0x80     /* or-ed into the command code of every response */
};

enum {
    FW_STATUS_OK = 0,
    FW_STATUS_BAD_CRC = 1,         /* frame CRC wrong: retry */
    FW_STATUS_UNKNOWN_COMMAND = 2,
    FW_STATUS_BAD_LENGTH = 3,      /* CRC-checked payload of the wrong size: definite */
    FW_STATUS_BAD_RANGE = 4,
    FW_STATUS_MODEL_ERROR = 5,
    FW_STATUS_NOT_READY = 6,
    FW_STATUS_INPUT_STALE = 7,     /* RUN: the input buffer no longer has the named CRC: reload */
    FW_STATUS_OUTPUT_STALE = 8,    /* READ_OUTPUT: the output is not that of the named run: rerun */
    FW_STATUS_FRAME_TOO_LONG = 9   /* header len > max payload, CRC unchecked: retry */
};

/* IDENTIFY flags (body byte 2). */
#define FW_FLAG_MODEL_READY 1u
#define FW_FLAG_STAGING 2u /* LOAD_NEXT / RUN_NEXT available: a staging buffer of the input size */
#define FW_FLAG_STREAMING 4u /* STATE_RESET / STEP / READ_STATE available: the model keeps recurrent state */

/* Bytes every response payload starts with: status u8, session u32. */
#define FW_RESP_HEADER 5u

/* Initialise the model (fp_model_init) and the timing statistics. */
void fw_commands_init(void);
/* Execute one request; writes the response payload (status and session first,
 * at most FW_MAX_PAYLOAD bytes) to `resp` and returns its length. */
uint16_t fw_commands_handle(const fw_frame_t *req, uint8_t *resp);
/* What to answer for one parser event: the response payload for a good frame
 * (fw_commands_handle) or a status-only payload for a rejected one. Returns
 * the payload length, 0 for FW_EV_NONE (nothing to send). */
uint16_t fw_commands_reply(fw_event_t event, const fw_frame_t *frame, uint8_t *resp);

#ifdef FW_STREAMING
/* For the command handlers of fw_stream.c: the response header, a region read
 * (fw_cmd_read_arena's layout), whether the model initialised, and "the output
 * no longer belongs to the last RUN". */
uint16_t fw_response_begin(uint8_t *resp, uint8_t status);
uint16_t fw_response_region(const fw_frame_t *req, uint8_t *resp, const uint8_t *base, uint32_t size);
int fw_model_ready(void);
void fw_output_invalidate(void);

/* fw_stream.c: the streaming commands (docs/serial-protocol.md, "Streaming"). */
void fw_stream_init(void);
uint16_t fw_cmd_state_reset(const fw_frame_t *req, uint8_t *resp);
uint16_t fw_cmd_step(const fw_frame_t *req, uint8_t *resp);
uint16_t fw_cmd_read_state(const fw_frame_t *req, uint8_t *resp);
#endif

#endif /* FW_COMMANDS_H */
