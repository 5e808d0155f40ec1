/*
 * fw_config.h - build-time constants of the firmware.
 *
 * fw_board_config.h is generated per build by fixpoint.boards.build from the
 * board's board.toml (board name, UART base address and IRQ, counter clock,
 * payload size, ...). The defaults below only apply to values a board may
 * leave out.
 */
#ifndef FW_CONFIG_H
#define FW_CONFIG_H

#include "fw_board_config.h"

#ifndef FW_BOARD_NAME
#error "fw_board_config.h must define FW_BOARD_NAME"
#endif

/* Largest frame payload in either direction; the host learns it from IDENTIFY. */
#ifndef FW_MAX_PAYLOAD
#define FW_MAX_PAYLOAD 1024u
#endif

/* Receive ring between the UART interrupt and the command loop (power of two). */
#ifndef FW_RX_RING_SIZE
#define FW_RX_RING_SIZE 256u
#endif

/* Version of the wire protocol in docs/serial-protocol.md. */
#define FW_PROTOCOL_VERSION 2u

#if FW_MAX_PAYLOAD < 256u || FW_MAX_PAYLOAD > 65535u
#error "FW_MAX_PAYLOAD must be in [256, 65535]: IDENTIFY needs ~150 bytes"
#endif

#if (FW_RX_RING_SIZE & (FW_RX_RING_SIZE - 1u)) != 0u
#error "FW_RX_RING_SIZE must be a power of two"
#endif

#endif /* FW_CONFIG_H */
