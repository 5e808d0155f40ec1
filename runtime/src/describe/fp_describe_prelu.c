/* fp_describe_prelu - the arena bytes of a layer whose params are the `prelu` member (prelu: size
 * elements in and out); see fp_kernel_describe_fn_t. */
#include "fp_resolver.h"
#include "../internal/fp_describe.h"

fp_status_t fp_describe_prelu(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act,
                              fp_io_need_t *need)
{
    uint64_t count = fp_mul_count(1, layer->params.prelu.size);
    (void)graph;
    return fp_io_unary(need, count, count, act);
}
