/* fp_describe_fully_connected - the arena bytes of a layer whose params are the `fully_connected`
 * member (fully connected: [batches, depth] in, [batches, out_channels] out); see
 * fp_kernel_describe_fn_t. */
#include "fp_resolver.h"
#include "../internal/fp_describe.h"

fp_status_t fp_describe_fully_connected(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act,
                                        fp_io_need_t *need)
{
    const fp_fully_connected_params_t *p = &layer->params.fully_connected;
    (void)graph;
    return fp_io_unary(need, fp_mul_count(fp_mul_count(1, p->batches), p->depth),
                         fp_mul_count(fp_mul_count(1, p->batches), p->out_channels), act);
}
