/*
 * fp_graph_internal.h - helpers shared by the graph executor files.
 *
 * Static inline, so each public function keeps its own file (CMSIS-NN
 * habit) without a second exported symbol.
 */
#ifndef FP_GRAPH_INTERNAL_H
#define FP_GRAPH_INTERNAL_H

#include "fp_runtime.h"

/* The resolver entry of a layer: the first entry of graph->kernels with the
 * layer's op and datapath, a run and a describe function; NULL if there is
 * none (or no table). An entry without describe is ignored: no kernel runs
 * without its bounds checks. */
static inline const fp_kernel_entry_t *fp_graph_find_kernel(const fp_graph_t *graph, const fp_layer_t *layer)
{
    const fp_kernel_table_t *table = graph->kernels;
    uint32_t i;
    if (table == NULL || table->entries == NULL) {
        return NULL;
    }
    for (i = 0; i < table->n_entries; ++i) {
        const fp_kernel_entry_t *e = &table->entries[i];
        if (e->op == layer->op && e->datapath == layer->datapath && e->run != NULL && e->describe != NULL) {
            return e;
        }
    }
    return NULL;
}

/* Scratch bytes one layer's kernel needs; 0 for kernels without scratch and
 * for layers the resolver has no entry for (the executor rejects those). */
static inline size_t fp_graph_layer_scratch_size(const fp_graph_t *graph, const fp_layer_t *layer)
{
    const fp_kernel_entry_t *e = fp_graph_find_kernel(graph, layer);
    return e != NULL && e->scratch_size != NULL ? e->scratch_size(layer) : 0;
}

#endif /* FP_GRAPH_INTERNAL_H */
