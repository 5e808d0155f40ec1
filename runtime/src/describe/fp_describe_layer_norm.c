/* fp_describe_layer_norm - the arena bytes of a layer whose params are the `layer_norm` member
 * (rows x depth elements in and out); see fp_kernel_describe_fn_t. */
#include "fp_resolver.h"
#include "../internal/fp_describe.h"

fp_status_t fp_describe_layer_norm(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act,
                                   fp_io_need_t *need)
{
    const fp_layer_norm_params_t *p = &layer->params.layer_norm;
    uint64_t count = fp_mul_count(fp_mul_count(1, p->rows), p->depth);
    (void)graph;
    return fp_io_unary(need, count, count, act);
}
