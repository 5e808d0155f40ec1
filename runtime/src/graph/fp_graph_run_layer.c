/*
 * fp_graph_run_layer - run one layer of a lowered graph on the arena.
 *
 * The layer table comes from generated code or the host simulator, and the
 * arena is caller memory, so before any kernel runs this checks that every
 * byte the kernel will touch lies inside the arena:
 *   - tensor indices are < n_tensors, tensor offsets are 4-byte aligned, and
 *     offset + size <= arena_size;
 *   - the bytes a kernel reads / writes, computed from the layer's params
 *     (not from the tensor dims), fit in the tensor's size, and every dim the
 *     params use is positive;
 *   - tensor dtypes match the datapath (s8 / s4: int8, s16: int16);
 *   - the output does not overlap any input (kernels never work in place);
 *   - the kernel's scratch requirement fits the scratch given.
 * An add / mul / minimum / maximum layer with one input takes its second operand from `weights`
 * (a constant tensor of the activation type with the params' input2 dims).
 * Anything else (shift ranges, dims consistency, strides...) is checked by
 * the kernel itself. Nothing is written when a check fails.
 *
 * The kernel is never named here: it comes from the graph's resolver
 * (graph->kernels, fp_resolver.h), so a firmware links only the kernels of
 * its table. A known op / datapath the table lacks is FP_ERR_UNRESOLVED.
 * Copy layers are a memmove done here, not a kernel.
 */
#include <string.h>

#include "fp_runtime.h"
#include "fp_graph_internal.h"

#define FP_MAX_LAYER_INPUTS 8
#define FP_DTYPE_ANY 0xFFu
/* Element counts saturate here: anything this large cannot fit an arena
 * whose size is a uint32_t, so the bound check fails as it should. */
#define FP_COUNT_CAP ((uint64_t)1 << 33)

/* What a layer's kernel reads and writes, in bytes, per tensor. */
typedef struct {
    uint32_t n_in;
    uint64_t in_bytes[FP_MAX_LAYER_INPUTS];
    uint8_t in_dtype[FP_MAX_LAYER_INPUTS];
    uint64_t out_bytes;
    uint8_t out_dtype;
} fp_io_need_t;

/* count * dim, 0 if either is invalid (dims must be positive), saturated. */
static uint64_t fp_mul_count(uint64_t count, int32_t dim)
{
    uint64_t r;
    if (count == 0 || dim <= 0) {
        return 0;
    }
    r = count * (uint64_t)dim; /* count <= 2^33 and dim < 2^31: no wrap */
    return r > FP_COUNT_CAP ? FP_COUNT_CAP : r;
}

static uint64_t fp_dims_count(const fp_dims_t *d)
{
    return fp_mul_count(fp_mul_count(fp_mul_count(fp_mul_count(1, d->n), d->h), d->w), d->c);
}

static uint64_t fp_dtype_bytes(uint8_t dtype)
{
    switch (dtype) {
    case FP_DTYPE_S8: return 1;
    case FP_DTYPE_S16: return 2;
    default: return 0;
    }
}

static void fp_need_in(fp_io_need_t *io, uint32_t i, uint64_t count, uint8_t dtype)
{
    io->in_bytes[i] = count * fp_dtype_bytes(dtype);
    io->in_dtype[i] = dtype;
}

static void fp_need_out(fp_io_need_t *io, uint64_t count, uint8_t dtype)
{
    io->out_bytes = count * fp_dtype_bytes(dtype);
    io->out_dtype = dtype;
}

static fp_status_t fp_describe_concat(const fp_concat_params_t *p, uint8_t act, fp_io_need_t *io)
{
    uint64_t axis_total = 0;
    uint32_t i;
    if (p->n_inputs < 1 || p->n_inputs > FP_MAX_LAYER_INPUTS) {
        return FP_ERR_ARG;
    }
    io->n_in = (uint32_t)p->n_inputs;
    for (i = 0; i < io->n_in; ++i) {
        uint64_t count = fp_mul_count(fp_mul_count(fp_mul_count(1, p->outer), p->axis_size[i]), p->inner);
        if (count == 0) {
            return FP_ERR_ARG;
        }
        fp_need_in(io, i, count, act);
        axis_total += (uint64_t)p->axis_size[i];
    }
    /* axis_total < 2^34: the product stays below 2^64 before capping. */
    axis_total = axis_total > FP_COUNT_CAP ? FP_COUNT_CAP : axis_total;
    fp_need_out(io, fp_mul_count(fp_mul_count(axis_total, p->outer), p->inner), act);
    return FP_OK;
}

/* Fill `io` from the layer's params; FP_ERR_UNSUPPORTED for unknown op or
 * datapath values, FP_ERR_ARG for non-positive dims. */
static fp_status_t fp_describe(const fp_graph_t *graph, const fp_layer_t *layer, fp_io_need_t *io)
{
    const fp_layer_params_t *p = &layer->params;
    uint8_t act;
    uint32_t i;
    switch (layer->datapath) {
    case FP_DP_S8:
    case FP_DP_S4: act = FP_DTYPE_S8; break;
    case FP_DP_S16: act = FP_DTYPE_S16; break;
    default: return FP_ERR_UNSUPPORTED;
    }
    io->n_in = 1;
    switch (layer->op) {
    case FP_OP_CONV2D:
        fp_need_in(io, 0, fp_dims_count(&p->conv2d.input), act);
        fp_need_out(io, fp_dims_count(&p->conv2d.output), act);
        break;
    case FP_OP_DEPTHWISE_CONV2D:
        fp_need_in(io, 0, fp_dims_count(&p->depthwise_conv2d.input), act);
        fp_need_out(io, fp_dims_count(&p->depthwise_conv2d.output), act);
        break;
    case FP_OP_FULLY_CONNECTED:
        fp_need_in(io, 0, fp_mul_count(fp_mul_count(1, p->fully_connected.batches),
                                       p->fully_connected.depth), act);
        fp_need_out(io, fp_mul_count(fp_mul_count(1, p->fully_connected.batches),
                                     p->fully_connected.out_channels), act);
        break;
    case FP_OP_ADD:
        io->n_in = layer->n_inputs == 1 ? 1u : 2u; /* 1: input2 is the constant `weights` */
        fp_need_in(io, 0, fp_dims_count(&p->add.input1), act);
        fp_need_in(io, 1, fp_dims_count(&p->add.input2), act);
        fp_need_out(io, fp_dims_count(&p->add.output), act);
        break;
    case FP_OP_MUL:
        io->n_in = layer->n_inputs == 1 ? 1u : 2u; /* 1: input2 is the constant `weights` */
        fp_need_in(io, 0, fp_dims_count(&p->mul.input1), act);
        fp_need_in(io, 1, fp_dims_count(&p->mul.input2), act);
        fp_need_out(io, fp_dims_count(&p->mul.output), act);
        break;
    case FP_OP_MAX_POOL:
    case FP_OP_AVG_POOL:
        fp_need_in(io, 0, fp_dims_count(&p->pool.input), act);
        fp_need_out(io, fp_dims_count(&p->pool.output), act);
        break;
    case FP_OP_SOFTMAX:
        fp_need_in(io, 0, fp_mul_count(fp_mul_count(1, p->softmax.rows), p->softmax.depth), act);
        fp_need_out(io, fp_mul_count(fp_mul_count(1, p->softmax.rows), p->softmax.depth), act);
        break;
    case FP_OP_CONCAT: {
        fp_status_t st = fp_describe_concat(&p->concat, act, io);
        if (st != FP_OK) {
            return st;
        }
        break;
    }
    case FP_OP_PAD:
        fp_need_in(io, 0, fp_dims_count(&p->pad.input), act);
        fp_need_out(io, fp_dims_count(&p->pad.output), act);
        break;
    case FP_OP_LEAKY_RELU:
        fp_need_in(io, 0, fp_mul_count(1, p->leaky_relu.size), act);
        fp_need_out(io, fp_mul_count(1, p->leaky_relu.size), act);
        break;
    case FP_OP_LUT:
        fp_need_in(io, 0, fp_mul_count(1, p->lut.size), act);
        fp_need_out(io, fp_mul_count(1, p->lut.size), act);
        break;
    case FP_OP_PRELU:
        fp_need_in(io, 0, fp_mul_count(1, p->prelu.size), act);
        fp_need_out(io, fp_mul_count(1, p->prelu.size), act);
        break;
    case FP_OP_MINIMUM:
    case FP_OP_MAXIMUM:
        io->n_in = layer->n_inputs == 1 ? 1u : 2u; /* 1: input2 is the constant `weights` */
        fp_need_in(io, 0, fp_dims_count(&p->minmax.input1), act);
        fp_need_in(io, 1, fp_dims_count(&p->minmax.input2), act);
        fp_need_out(io, fp_dims_count(&p->minmax.output), act);
        break;
    case FP_OP_REQUANTIZE:
        /* The input type is the input tensor's; the output type is out_dtype. */
        if (layer->n_inputs < 1 || layer->inputs[0] >= graph->n_tensors) {
            return FP_ERR_ARG;
        }
        fp_need_in(io, 0, fp_mul_count(1, p->requantize.size), graph->tensors[layer->inputs[0]].dtype);
        fp_need_out(io, fp_mul_count(1, p->requantize.size), layer->out_dtype);
        break;
    case FP_OP_TRANSPOSE: /* the output holds the input's elements, permuted */
        fp_need_in(io, 0, fp_dims_count(&p->transpose.input), act);
        fp_need_out(io, fp_dims_count(&p->transpose.input), act);
        break;
    case FP_OP_RESIZE:
        fp_need_in(io, 0, fp_dims_count(&p->resize.input), act);
        fp_need_out(io, fp_dims_count(&p->resize.output), act);
        break;
    case FP_OP_SLICE:
        fp_need_in(io, 0, fp_dims_count(&p->slice.input), act);
        fp_need_out(io, fp_dims_count(&p->slice.output), act);
        break;
    case FP_OP_TRANSPOSE_CONV2D:
        fp_need_in(io, 0, fp_dims_count(&p->transpose_conv2d.input), act);
        fp_need_out(io, fp_dims_count(&p->transpose_conv2d.output), act);
        break;
    case FP_OP_REDUCE:
        fp_need_in(io, 0, fp_dims_count(&p->reduce.input), act);
        fp_need_out(io, fp_dims_count(&p->reduce.output), act);
        break;
    case FP_OP_COPY:
        io->in_bytes[0] = fp_mul_count(1, p->copy.bytes);
        io->in_dtype[0] = FP_DTYPE_ANY;
        io->out_bytes = io->in_bytes[0];
        io->out_dtype = FP_DTYPE_ANY;
        break;
    default:
        return FP_ERR_UNSUPPORTED;
    }
    if (layer->n_inputs != io->n_in || io->out_bytes == 0) {
        return FP_ERR_ARG;
    }
    for (i = 0; i < io->n_in; ++i) {
        if (io->in_bytes[i] == 0) {
            return FP_ERR_ARG;
        }
    }
    return FP_OK;
}

/* Validate tensor `index` for `need` bytes of `dtype`; returns it or NULL. */
static const fp_tensor_t *fp_bind(const fp_graph_t *graph, uint16_t index, uint8_t dtype, uint64_t need)
{
    const fp_tensor_t *t;
    if (index >= graph->n_tensors) {
        return NULL;
    }
    t = &graph->tensors[index];
    if (dtype != FP_DTYPE_ANY && t->dtype != dtype) {
        return NULL;
    }
    if (fp_dtype_bytes(t->dtype) == 0 || need > t->size || (t->offset & 3u) != 0u
        || (uint64_t)t->offset + (uint64_t)t->size > (uint64_t)graph->arena_size) {
        return NULL;
    }
    return t;
}

static int fp_overlap(const fp_tensor_t *a, const fp_tensor_t *b)
{
    uint64_t a_end = (uint64_t)a->offset + a->size;
    uint64_t b_end = (uint64_t)b->offset + b->size;
    return (uint64_t)a->offset < b_end && (uint64_t)b->offset < a_end;
}

/* Arena pointers of a layer's tensors (fp_kernel_io_t), after validation. */
static fp_status_t fp_bind_io(const fp_graph_t *graph, const fp_layer_t *layer, const fp_io_need_t *need,
                              uint8_t *arena, fp_kernel_io_t *io)
{
    const fp_tensor_t *out = fp_bind(graph, layer->output, need->out_dtype, need->out_bytes);
    uint32_t i;
    for (i = 0; i < FP_MAX_LAYER_INPUTS; ++i) {
        io->in[i] = NULL; /* unused inputs stay NULL (fp_kernel_io_t) */
    }
    io->out = NULL;
    io->in_dtype = 0;
    io->out_dtype = 0;
    if (out == NULL) {
        return FP_ERR_ARG;
    }
    for (i = 0; i < need->n_in; ++i) {
        const fp_tensor_t *in = fp_bind(graph, layer->inputs[i], need->in_dtype[i], need->in_bytes[i]);
        if (in == NULL || fp_overlap(in, out)) {
            return FP_ERR_ARG;
        }
        io->in[i] = arena + in->offset;
        if (i == 0) {
            io->in_dtype = in->dtype;
        }
    }
    if ((layer->op == FP_OP_ADD || layer->op == FP_OP_MUL || layer->op == FP_OP_MINIMUM ||
         layer->op == FP_OP_MAXIMUM) && need->n_in == 1) {
        if (layer->weights == NULL) {
            return FP_ERR_ARG;
        }
        io->in[1] = layer->weights;
    }
    io->out = arena + out->offset;
    io->out_dtype = out->dtype;
    if (layer->op == FP_OP_COPY && io->in_dtype != io->out_dtype) {
        return FP_ERR_ARG;
    }
    return FP_OK;
}

fp_status_t fp_graph_run_layer(const fp_graph_t *graph, uint32_t index, uint8_t *arena,
                               void *scratch, size_t scratch_size)
{
    const fp_layer_t *layer;
    const fp_kernel_entry_t *kernel;
    fp_io_need_t need;
    fp_kernel_io_t io;
    fp_status_t st;
    if (graph == NULL || arena == NULL || graph->layers == NULL || graph->tensors == NULL
        || index >= graph->n_layers || ((uintptr_t)(void *)arena & 3u) != 0u) {
        return FP_ERR_ARG;
    }
    layer = &graph->layers[index];
    st = fp_describe(graph, layer, &need);
    if (st != FP_OK) {
        return st;
    }
    st = fp_bind_io(graph, layer, &need, arena, &io);
    if (st != FP_OK) {
        return st;
    }
    if (layer->op == FP_OP_COPY) {
        /* Ranges were checked disjoint; memmove costs nothing extra here. */
        memmove(io.out, io.in[0], (size_t)layer->params.copy.bytes);
        return FP_OK;
    }
    kernel = fp_graph_find_kernel(graph, layer);
    if (kernel == NULL) {
        return FP_ERR_UNRESOLVED;
    }
    if (scratch == NULL) {
        scratch_size = 0;
    }
    if (kernel->scratch_size != NULL && kernel->scratch_size(layer) > scratch_size) {
        return FP_ERR_SCRATCH;
    }
    return kernel->run(layer, &io, scratch);
}
