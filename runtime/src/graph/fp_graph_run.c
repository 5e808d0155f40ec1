/*
 * fp_graph_run - run every layer of a lowered graph, in order, on the arena.
 *
 * The graph's inputs must have been written to their arena slots first.
 * Stops at the first layer that fails and returns its status; the layers
 * before it have run (their outputs are in the arena), the failing layer
 * wrote nothing.
 */
#include "fp_runtime.h"

static int fp_tensor_list_ok(const fp_graph_t *graph, uint16_t n, const uint16_t *list)
{
    uint16_t i;
    if (n > 4) {
        return 0;
    }
    for (i = 0; i < n; ++i) {
        if (list[i] >= graph->n_tensors) {
            return 0;
        }
    }
    return 1;
}

fp_status_t fp_graph_run(const fp_graph_t *graph, uint8_t *arena, void *scratch, size_t scratch_size)
{
    uint32_t i;
    if (graph == NULL || arena == NULL) {
        return FP_ERR_ARG;
    }
    if (!fp_tensor_list_ok(graph, graph->n_inputs, graph->inputs)
        || !fp_tensor_list_ok(graph, graph->n_outputs, graph->outputs)) {
        return FP_ERR_ARG;
    }
    for (i = 0; i < graph->n_layers; ++i) {
        fp_status_t st = fp_graph_run_layer(graph, i, arena, scratch, scratch_size);
        if (st != FP_OK) {
            return st;
        }
    }
    return FP_OK;
}
