/*
 * fp_model_api.h - the interface between the firmware and one compiled model.
 *
 * The firmware (fw_main.c) knows nothing about the network it runs: it links
 * exactly one translation unit set that implements these functions. The code
 * generator emits a model .c implementing them on top of fp_graph_run(); the
 * board tests use a hand-written fixture (tests/firmware/fixtures/).
 *
 * Contract:
 *   - fp_model_input() points at fp_model_input_size() writable bytes; the
 *     firmware copies host data there before fp_model_run();
 *   - fp_model_output() points at fp_model_output_size() bytes that hold the
 *     result of the last successful fp_model_run();
 *   - a model with several inputs (outputs) keeps them back to back in plan
 *     order in that one buffer (FP_MODEL_INPUTk_BUFFER_OFFSET of the generated
 *     model.h); the sizes above are the totals (docs/serial-protocol.md);
 *   - fp_model_init() (re)initialises all model state; it is called once at
 *     boot and again on the RESET command; 0 = OK, anything else is an error
 *     code reported to the host unchanged;
 *   - fp_model_run() runs one inference; 0 = OK, else an error code
 *     (e.g. a negative fp_status_t from the runtime);
 *   - fp_model_hash() is the lowered plan's sha256 as 64 lowercase hex digits,
 *     which the host compares to the plan it simulated (WrongModel otherwise).
 */
#ifndef FP_MODEL_API_H
#define FP_MODEL_API_H

#include <stdint.h>

const char *fp_model_name(void);
const char *fp_model_hash(void);
uint32_t fp_model_input_size(void);
uint32_t fp_model_output_size(void);
uint32_t fp_model_arena_size(void);
uint8_t *fp_model_input(void);
const uint8_t *fp_model_output(void);
int fp_model_init(void);
int fp_model_run(void);

/* Debug read-back, used to find the first layer where a board and the host
 * simulation diverge: fp_model_run_layers(n) runs only layers [0, n) on the
 * current input (n = 0 runs nothing), leaving every tensor of those layers in
 * the arena; fp_model_arena() is the arena (fp_model_arena_size() bytes)
 * whose offsets the lowered plan records. 0 = OK, else an error code. */
int fp_model_run_layers(uint32_t n);
const uint8_t *fp_model_arena(void);

/* Streaming models (recurrent layers) also implement fp_model_stream_api.h. */

#endif /* FP_MODEL_API_H */
