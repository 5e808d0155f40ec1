/* fp_describe_lstm - the arena bytes of a layer whose params are the `lstm` member
 * (x [seq_len, input_size] in; h [seq_len, hidden] or [hidden] out); see
 * fp_kernel_describe_fn_t. */
#include "fp_resolver.h"
#include "../internal/fp_describe.h"

fp_status_t fp_describe_lstm(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act, fp_io_need_t *need)
{
    const fp_lstm_params_t *p = &layer->params.lstm;
    uint64_t steps = p->output_sequence ? fp_mul_count(1, p->seq_len) : 1;
    (void)graph;
    return fp_io_unary(need, fp_mul_count(fp_mul_count(1, p->seq_len), p->input_size),
                       fp_mul_count(steps, p->hidden_size), act);
}
