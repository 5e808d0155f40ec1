/*
 * loopback_model.c - a model that copies its input to its output. For board
 * bring-up (does the link work at all?) and link benchmarks
 * (python -m fixpoint.boards.linkbench); it needs no runtime kernel.
 */
#include <stdint.h>
#include <string.h>

#include "fp_model_api.h"

#ifndef LOOPBACK_SIZE
#define LOOPBACK_SIZE 16384u
#endif

static uint8_t loopback_in[LOOPBACK_SIZE];
static uint8_t loopback_out[LOOPBACK_SIZE];

const char *fp_model_name(void) { return "loopback"; }
const char *fp_model_hash(void) { return "4c4f4f504241434b000000000000000000000000000000000000000000000000"; }
uint32_t fp_model_input_size(void) { return LOOPBACK_SIZE; }
uint32_t fp_model_output_size(void) { return LOOPBACK_SIZE; }
uint32_t fp_model_arena_size(void) { return LOOPBACK_SIZE; }  /* fp_model_arena() */
uint8_t *fp_model_input(void) { return loopback_in; }
const uint8_t *fp_model_output(void) { return loopback_out; }

int fp_model_init(void)
{
    memset(loopback_out, 0, sizeof loopback_out);
    return 0;
}

int fp_model_run(void)
{
    memcpy(loopback_out, loopback_in, sizeof loopback_out);
    return 0;
}

/* One "layer": the copy. The arena read-back sees the output buffer. */
int fp_model_run_layers(uint32_t n)
{
    return n == 0u ? 0 : (n == 1u ? fp_model_run() : 1);
}

const uint8_t *fp_model_arena(void)
{
    return loopback_out;
}

#ifdef FW_STREAMING
/* A toy stream for the firmware fuzzer (tests/sanitize/fw_fuzz.sh): each step
 * mixes LOOPBACK_STEP bytes of input into LOOPBACK_STATE bytes of state and
 * outputs input xor state; a first input byte 0xEE makes the step fail. */
#include "fp_model_stream_api.h"

#define LOOPBACK_STEP 32u
#define LOOPBACK_STATE 240u

static uint8_t loopback_state[LOOPBACK_STATE];

int fp_model_reset_state(void)
{
    memset(loopback_state, 0, sizeof loopback_state);
    return 0;
}

int fp_model_step(void)
{
    uint32_t i;
    if (loopback_in[0] == 0xEEu) {
        return 7;
    }
    for (i = 0; i < LOOPBACK_STEP; ++i) {
        loopback_out[i] = (uint8_t)(loopback_in[i] ^ loopback_state[i]);
        loopback_state[(i * 7u + loopback_state[0]) % LOOPBACK_STATE] ^= loopback_in[i];
    }
    return 0;
}

const uint8_t *fp_model_state(void) { return loopback_state; }
uint32_t fp_model_state_size(void) { return LOOPBACK_STATE; }
uint32_t fp_model_step_input_size(void) { return LOOPBACK_STEP; }
uint32_t fp_model_step_output_size(void) { return LOOPBACK_STEP; }
#endif
