/* fp_describe_concat - the arena bytes of a layer whose params are the `concat` member (concat:
 * n_inputs inputs of outer x axis_size[i] x inner, the output of their sum along the axis); see
 * fp_kernel_describe_fn_t. */
#include "fp_resolver.h"
#include "../internal/fp_describe.h"

fp_status_t fp_describe_concat(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act,
                               fp_io_need_t *need)
{
    const fp_concat_params_t *p = &layer->params.concat;
    uint64_t axis_total = 0;
    uint32_t i;
    (void)graph;
    if (p->n_inputs < 1 || p->n_inputs > 8) {
        return FP_ERR_ARG;
    }
    need->n_in = (uint32_t)p->n_inputs;
    for (i = 0; i < need->n_in; ++i) {
        uint64_t count = fp_mul_count(fp_mul_count(fp_mul_count(1, p->outer), p->axis_size[i]), p->inner);
        if (count == 0) {
            return FP_ERR_ARG;
        }
        fp_io_set_in(need, i, count, act);
        axis_total += (uint64_t)p->axis_size[i];
    }
    /* axis_total < 2^34: the product stays below 2^64 before capping. */
    axis_total = axis_total > FP_COUNT_CAP ? FP_COUNT_CAP : axis_total;
    fp_io_set_out(need, fp_mul_count(fp_mul_count(axis_total, p->outer), p->inner), act);
    return FP_OK;
}
