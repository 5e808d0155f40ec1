/* fp_graph_scratch_size - scratch bytes the largest layer of a graph needs. */
#include "fp_runtime.h"
#include "fp_graph_internal.h"

size_t fp_graph_scratch_size(const fp_graph_t *graph)
{
    size_t worst = 0;
    uint32_t i;
    if (graph == NULL || graph->layers == NULL) {
        return 0;
    }
    for (i = 0; i < graph->n_layers; ++i) {
        size_t need = fp_graph_layer_scratch_size(graph, &graph->layers[i]);
        if (need > worst) {
            worst = need;
        }
    }
    return worst;
}
