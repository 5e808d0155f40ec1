/*
 * kc_profile.c - instructions per layer of a generated model on an emulated
 * board (bench/profile_layers.py): for k = 1 .. FP_MODEL_N_LAYERS, re-initialise
 * the model, load the sample (kc_profile_input.h, written by the script), and
 * count fp_model_run_layers(k) with the board's counter (exact under QEMU
 * -icount); layer k's cost is count(k) - count(k - 1). Prints
 * "layers <k> count=<n>" per k and "run count=<n>" for fp_model_run.
 */
#include <string.h>

#include "fw_platform.h"
#include "kc_common.h"
#include "kc_profile_model.h"
#include "kc_profile_input.h"

static uint64_t kc_overhead;

static uint64_t measure(uint32_t layers)
{
    uint64_t t;
    uint64_t n;
    (void)fp_model_init();
    memcpy(fp_model_input(), kc_profile_input, sizeof kc_profile_input);
    t = fw_counter_start();
    if (layers == 0u) {
        (void)fp_model_run();
    } else {
        (void)fp_model_run_layers(layers);
    }
    n = fw_counter_elapsed(t, fw_counter_now());
    return n > kc_overhead ? n - kc_overhead : 0u;
}

int main(void)
{
    char msg[80];
    uint64_t t;
    uint32_t k;
    fw_counter_init();
    t = fw_counter_start();
    kc_overhead = fw_counter_elapsed(t, fw_counter_now());
    for (k = 1u; k <= (uint32_t)FP_MODEL_N_LAYERS; ++k) {
        kc_format(msg, sizeof msg, "layers %u count=%U\n", k, measure(k));
        kc_write(msg);
    }
    kc_format(msg, sizeof msg, "run count=%U\n", measure(0u));
    kc_write(msg);
    return 0;
}
