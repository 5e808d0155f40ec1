/* fp_describe_add - the arena bytes of a layer whose params are the `add` member (add (and Sub):
 * two inputs of the params' dims, or one and the constant `weights`); see fp_kernel_describe_fn_t. */
#include "fp_resolver.h"
#include "../internal/fp_describe.h"

fp_status_t fp_describe_add(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act, fp_io_need_t *need)
{
    const fp_add_params_t *p = &layer->params.add;
    (void)graph;
    return fp_io_binary(layer, &p->input1, &p->input2, &p->output, act, need);
}
