/* fp_describe_transpose_conv2d - the arena bytes of a layer whose params are the
 * `transpose_conv2d` member (transposed convolution: NHWC input and output of the params' dims);
 * see fp_kernel_describe_fn_t. */
#include "fp_resolver.h"
#include "../internal/fp_describe.h"

fp_status_t fp_describe_transpose_conv2d(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act,
                                         fp_io_need_t *need)
{
    (void)graph;
    return fp_io_unary(need, fp_io_dims_count(&layer->params.transpose_conv2d.input),
                         fp_io_dims_count(&layer->params.transpose_conv2d.output), act);
}
