/*
 * fw_commands.h - command codes, status codes and the command dispatcher.
 * Byte layouts of every request and response: docs/serial-protocol.md.
 */
#ifndef FW_COMMANDS_H
#define FW_COMMANDS_H

#include <stdint.h>

#include "fw_frame.h"

enum {
    FW_CMD_IDENTIFY = 0x01,
    FW_CMD_LOAD_INPUT = 0x02,
    FW_CMD_RUN = 0x03,
    FW_CMD_READ_OUTPUT = 0x04,
    FW_CMD_READ_TIMING = 0x05,
    FW_CMD_RESET = 0x06,
    FW_CMD_PING = 0x07,
    FW_CMD_RUN_LAYERS = 0x08,  /* u32 n: run layers [0, n) only (debug read-back) */
    FW_CMD_READ_ARENA = 0x09,  /* u32 offset, u16 length: arena bytes (debug read-back) */
    FW_CMD_RESPONSE = 0x80 /* or-ed into the command code of every response */
};

enum {
    FW_STATUS_OK = 0,
    FW_STATUS_BAD_CRC = 1,
    FW_STATUS_UNKNOWN_COMMAND = 2,
    FW_STATUS_BAD_LENGTH = 3,
    FW_STATUS_BAD_RANGE = 4,
    FW_STATUS_MODEL_ERROR = 5,
    FW_STATUS_NOT_READY = 6
};

/* Initialise the model (fp_model_init) and the timing statistics. */
void fw_commands_init(void);
/* Execute one request; writes the response payload (status byte first, at
 * most FW_MAX_PAYLOAD bytes) to `resp` and returns its length. */
uint16_t fw_commands_handle(const fw_frame_t *req, uint8_t *resp);

#endif /* FW_COMMANDS_H */
