/* fp_describe_batch_matmul - the arena bytes of a layer whose params are the `batch_matmul` member
 * (two arena inputs of input1_size / input2_size elements, or one and the constant `weights` as B;
 * an output of output_size); see fp_kernel_describe_fn_t. */
#include "fp_resolver.h"
#include "../internal/fp_describe.h"

fp_status_t fp_describe_batch_matmul(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act,
                                     fp_io_need_t *need)
{
    const fp_batch_matmul_params_t *p = &layer->params.batch_matmul;
    (void)graph;
    if (layer->n_inputs != 1 && layer->n_inputs != 2) {
        return FP_ERR_ARG;
    }
    need->n_in = layer->n_inputs;
    need->const_in1 = layer->n_inputs == 1 ? 1u : 0u;
    fp_io_set_in(need, 0, fp_mul_count(1, p->input1_size), act);
    fp_io_set_in(need, 1, fp_mul_count(1, p->input2_size), act);
    fp_io_set_out(need, fp_mul_count(1, p->output_size), act);
    return FP_OK;
}
