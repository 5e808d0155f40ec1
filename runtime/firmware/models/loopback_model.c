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
