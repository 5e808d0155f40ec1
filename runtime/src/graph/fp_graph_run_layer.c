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
 * An add / mul layer with one input takes its second operand from `weights`
 * (a constant tensor of the activation type with the params' input2 dims).
 * Anything else (shift ranges, dims consistency, strides...) is checked by
 * the kernel itself. Nothing is written when a check fails.
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

/* Arena pointers of a layer's tensors, after validation. */
typedef struct {
    const uint8_t *in[FP_MAX_LAYER_INPUTS];
    uint8_t *out;
    uint8_t in_dtype;
    uint8_t out_dtype;
} fp_io_ptr_t;

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
    case FP_OP_REQUANTIZE:
        /* The input type is the input tensor's; the output type is out_dtype. */
        if (layer->n_inputs < 1 || layer->inputs[0] >= graph->n_tensors) {
            return FP_ERR_ARG;
        }
        fp_need_in(io, 0, fp_mul_count(1, p->requantize.size), graph->tensors[layer->inputs[0]].dtype);
        fp_need_out(io, fp_mul_count(1, p->requantize.size), layer->out_dtype);
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

static fp_status_t fp_resolve(const fp_graph_t *graph, const fp_layer_t *layer, const fp_io_need_t *need,
                              uint8_t *arena, fp_io_ptr_t *io)
{
    const fp_tensor_t *out = fp_bind(graph, layer->output, need->out_dtype, need->out_bytes);
    uint32_t i;
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
    if ((layer->op == FP_OP_ADD || layer->op == FP_OP_MUL) && need->n_in == 1) {
        if (layer->weights == NULL) {
            return FP_ERR_ARG;
        }
        io->in[1] = (const uint8_t *)layer->weights;
    }
    io->out = arena + out->offset;
    io->out_dtype = out->dtype;
    if (layer->op == FP_OP_COPY && io->in_dtype != io->out_dtype) {
        return FP_ERR_ARG;
    }
    return FP_OK;
}

#define FP_IN8(i) ((const int8_t *)(const void *)io->in[i])
#define FP_IN16(i) ((const int16_t *)(const void *)io->in[i])
#define FP_OUT8 ((int8_t *)(void *)io->out)
#define FP_OUT16 ((int16_t *)(void *)io->out)
#define FP_W8 ((const int8_t *)layer->weights)
#define FP_B32 ((const int32_t *)layer->bias)
#define FP_B64 ((const int64_t *)layer->bias)

static fp_status_t fp_call_weighted(const fp_layer_t *layer, const fp_io_ptr_t *io, void *scratch)
{
    const fp_layer_params_t *p = &layer->params;
    int s16 = layer->datapath == FP_DP_S16;
    int s4 = layer->datapath == FP_DP_S4;
    switch (layer->op) {
    case FP_OP_CONV2D:
        return s16 ? fp_conv2d_s16(&p->conv2d, FP_IN16(0), FP_W8, FP_B64, FP_OUT16, scratch)
             : s4 ? fp_conv2d_s4(&p->conv2d, FP_IN8(0), FP_W8, FP_B32, FP_OUT8, scratch)
                  : fp_conv2d_s8(&p->conv2d, FP_IN8(0), FP_W8, FP_B32, FP_OUT8, scratch);
    case FP_OP_DEPTHWISE_CONV2D:
        return s16 ? fp_depthwise_conv2d_s16(&p->depthwise_conv2d, FP_IN16(0), FP_W8, FP_B64, FP_OUT16, scratch)
             : s4 ? fp_depthwise_conv2d_s4(&p->depthwise_conv2d, FP_IN8(0), FP_W8, FP_B32, FP_OUT8, scratch)
                  : fp_depthwise_conv2d_s8(&p->depthwise_conv2d, FP_IN8(0), FP_W8, FP_B32, FP_OUT8, scratch);
    default:
        return s16 ? fp_fully_connected_s16(&p->fully_connected, FP_IN16(0), FP_W8, FP_B64, FP_OUT16, scratch)
             : s4 ? fp_fully_connected_s4(&p->fully_connected, FP_IN8(0), FP_W8, FP_B32, FP_OUT8, scratch)
                  : fp_fully_connected_s8(&p->fully_connected, FP_IN8(0), FP_W8, FP_B32, FP_OUT8, scratch);
    }
}

static fp_status_t fp_call_concat(const fp_layer_t *layer, const fp_io_ptr_t *io)
{
    const int8_t *in8[FP_MAX_LAYER_INPUTS];
    const int16_t *in16[FP_MAX_LAYER_INPUTS];
    uint32_t i;
    for (i = 0; i < (uint32_t)layer->params.concat.n_inputs; ++i) {
        in8[i] = FP_IN8(i);
        in16[i] = FP_IN16(i);
    }
    return layer->datapath == FP_DP_S16 ? fp_concat_s16(&layer->params.concat, in16, FP_OUT16)
                                        : fp_concat_s8(&layer->params.concat, in8, FP_OUT8);
}

static fp_status_t fp_call_requantize(const fp_layer_t *layer, const fp_io_ptr_t *io)
{
    const fp_requantize_params_t *p = &layer->params.requantize;
    if (io->in_dtype == FP_DTYPE_S8 && io->out_dtype == FP_DTYPE_S8) {
        return fp_requantize_s8_s8(p, FP_IN8(0), FP_OUT8);
    }
    if (io->in_dtype == FP_DTYPE_S8 && io->out_dtype == FP_DTYPE_S16) {
        return fp_requantize_s8_s16(p, FP_IN8(0), FP_OUT16);
    }
    if (io->in_dtype == FP_DTYPE_S16 && io->out_dtype == FP_DTYPE_S8) {
        return fp_requantize_s16_s8(p, FP_IN16(0), FP_OUT8);
    }
    return FP_ERR_UNSUPPORTED;
}

/* Activation-only kernels: s8 and s4 share the int8 kernel. */
static fp_status_t fp_call_plain(const fp_layer_t *layer, const fp_io_ptr_t *io)
{
    const fp_layer_params_t *p = &layer->params;
    int s16 = layer->datapath == FP_DP_S16;
    switch (layer->op) {
    case FP_OP_ADD:
        return s16 ? fp_add_s16(&p->add, FP_IN16(0), FP_IN16(1), FP_OUT16)
                   : fp_add_s8(&p->add, FP_IN8(0), FP_IN8(1), FP_OUT8);
    case FP_OP_MUL:
        return s16 ? fp_mul_s16(&p->mul, FP_IN16(0), FP_IN16(1), FP_OUT16)
                   : fp_mul_s8(&p->mul, FP_IN8(0), FP_IN8(1), FP_OUT8);
    case FP_OP_MAX_POOL:
        return s16 ? fp_max_pool_s16(&p->pool, FP_IN16(0), FP_OUT16)
                   : fp_max_pool_s8(&p->pool, FP_IN8(0), FP_OUT8);
    case FP_OP_AVG_POOL:
        return s16 ? fp_avg_pool_s16(&p->pool, FP_IN16(0), FP_OUT16)
                   : fp_avg_pool_s8(&p->pool, FP_IN8(0), FP_OUT8);
    case FP_OP_SOFTMAX:
        return s16 ? fp_softmax_s16(&p->softmax, FP_IN16(0), FP_OUT16)
                   : fp_softmax_s8(&p->softmax, FP_IN8(0), FP_OUT8);
    case FP_OP_PAD:
        return s16 ? fp_pad_s16(&p->pad, FP_IN16(0), FP_OUT16)
                   : fp_pad_s8(&p->pad, FP_IN8(0), FP_OUT8);
    case FP_OP_LEAKY_RELU:
        return s16 ? fp_leaky_relu_s16(&p->leaky_relu, FP_IN16(0), FP_OUT16)
                   : fp_leaky_relu_s8(&p->leaky_relu, FP_IN8(0), FP_OUT8);
    case FP_OP_CONCAT:
        return fp_call_concat(layer, io);
    case FP_OP_REQUANTIZE:
        return fp_call_requantize(layer, io);
    case FP_OP_COPY:
        /* Ranges were checked disjoint; memmove costs nothing extra here. */
        memmove(io->out, io->in[0], (size_t)layer->params.copy.bytes);
        return FP_OK;
    default:
        return FP_ERR_UNSUPPORTED;
    }
}

fp_status_t fp_graph_run_layer(const fp_graph_t *graph, uint32_t index, uint8_t *arena,
                               void *scratch, size_t scratch_size)
{
    const fp_layer_t *layer;
    fp_io_need_t need;
    fp_io_ptr_t io;
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
    st = fp_resolve(graph, layer, &need, arena, &io);
    if (st != FP_OK) {
        return st;
    }
    if (scratch == NULL) {
        scratch_size = 0;
    }
    switch (layer->op) {
    case FP_OP_CONV2D:
    case FP_OP_DEPTHWISE_CONV2D:
    case FP_OP_FULLY_CONNECTED:
        if (fp_graph_layer_scratch_size(layer) > scratch_size) {
            return FP_ERR_SCRATCH;
        }
        return fp_call_weighted(layer, &io, scratch);
    default:
        return fp_call_plain(layer, &io);
    }
}
