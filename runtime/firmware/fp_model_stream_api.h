/*
 * fp_model_stream_api.h - the streaming interface of a generated model with
 * recurrent layers (lstm, gru); docs/codegen.md "Streaming".
 *
 * Only such models implement it (their generated model.h defines
 * FP_MODEL_HAS_STATE and includes this header); the firmware compiles its
 * streaming commands only with FW_STREAMING, so a model without recurrent
 * layers links none of it.
 *
 * Contract:
 *   - fp_model_reset_state() puts every recurrent layer back to its initial
 *     state (fp_model_init() does it too); 0 = OK;
 *   - fp_model_step() runs FP_MODEL_STEP_FRAMES frame(s) from fp_model_input()
 *     (the first FP_MODEL_STEP_INPUT_SIZE bytes) starting from the stored
 *     state, leaves the final state stored and the step's output at
 *     fp_model_output() (FP_MODEL_STEP_OUTPUT_SIZE bytes); a reset then
 *     FP_MODEL_SEQUENCE_FRAMES steps give fp_model_run()'s result on the whole
 *     sequence, bit for bit; 0 = OK, else an error code;
 *   - fp_model_state() is the state, fp_model_state_size() bytes
 *     (FP_MODEL_STATE_SIZE; layout: the FP_MODEL_STATE<k>_* macros);
 *     fp_model_run() neither reads nor changes it.
 */
#ifndef FP_MODEL_STREAM_API_H
#define FP_MODEL_STREAM_API_H

#include <stdint.h>

int fp_model_reset_state(void);
int fp_model_step(void);
const uint8_t *fp_model_state(void);
uint32_t fp_model_state_size(void);
uint32_t fp_model_step_input_size(void);  /* FP_MODEL_STEP_INPUT_SIZE */
uint32_t fp_model_step_output_size(void); /* FP_MODEL_STEP_OUTPUT_SIZE */

#endif /* FP_MODEL_STREAM_API_H */
