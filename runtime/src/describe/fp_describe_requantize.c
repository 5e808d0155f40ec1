/* fp_describe_requantize - the arena bytes of a layer whose params are the `requantize` member
 * (requantize: size elements of the input tensor's dtype in, of out_dtype out); see
 * fp_kernel_describe_fn_t. */
#include "fp_resolver.h"
#include "../internal/fp_describe.h"

fp_status_t fp_describe_requantize(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act,
                                   fp_io_need_t *need)
{
    uint64_t count;
    (void)act;
    /* The input type is the input tensor's (s8 or s16); the output type is out_dtype. */
    if (layer->n_inputs < 1 || layer->inputs[0] >= graph->n_tensors) {
        return FP_ERR_ARG;
    }
    need->n_in = 1;
    count = fp_mul_count(1, layer->params.requantize.size);
    fp_io_set_in(need, 0, count, graph->tensors[layer->inputs[0]].dtype);
    fp_io_set_out(need, count, layer->out_dtype);
    return FP_OK;
}
