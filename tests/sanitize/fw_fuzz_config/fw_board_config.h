/*
 * fw_board_config.h for the firmware fuzz target (tests/sanitize/fuzz_fw.c),
 * standing in for the header fixpoint.boards.build generates per board.
 *
 * Only what the fuzzed sources (fw_frame.c, fw_commands.c) read is defined.
 * The payload limit defaults to the smallest one fw_config.h accepts, so the
 * mutator reaches every length check (too-long headers, full responses, the
 * last chunk of the input) with short inputs; tests/sanitize/fw_fuzz.sh also
 * builds the board default of 1024 via -DFUZZ_MAX_PAYLOAD=1024u.
 */
#ifndef FW_BOARD_CONFIG_H
#define FW_BOARD_CONFIG_H

#define FW_BOARD_NAME "fuzz"

#ifndef FUZZ_MAX_PAYLOAD
#define FUZZ_MAX_PAYLOAD 256u
#endif
#define FW_MAX_PAYLOAD FUZZ_MAX_PAYLOAD

/* A staging buffer as large as the loopback model's input: LOAD_NEXT and
 * RUN_NEXT (double buffering) are fuzzed like every other command. */
#ifdef LOOPBACK_SIZE
#define FW_STAGE_BYTES LOOPBACK_SIZE
#endif

#endif
