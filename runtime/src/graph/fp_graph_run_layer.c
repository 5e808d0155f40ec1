/*
 * fp_graph_run_layer - run one layer of a lowered graph on the arena.
 *
 * The layer table comes from generated code or the host simulator, and the
 * arena is caller memory, so before any kernel runs this checks that every
 * byte the kernel will touch lies inside the arena:
 *   - tensor indices are < n_tensors, tensor offsets are 4-byte aligned, and
 *     offset + size <= arena_size;
 *   - the bytes a kernel reads / writes, computed from the layer's params
 *     (not from the tensor dims) by the resolver entry's describe function,
 *     fit in the tensor's size, and every dim the params use is positive;
 *   - tensor dtypes match the datapath (s8 / s4 / s2 / s1: int8, s16: int16);
 *   - the output does not overlap any input (kernels never work in place);
 *   - the kernel's scratch requirement fits the scratch given.
 * An add / mul / minimum / maximum layer with one input takes its second operand from `weights`
 * (a constant tensor of the activation type with the params' input2 dims).
 * Anything else (shift ranges, dims consistency, strides...) is checked by
 * the kernel itself. Nothing is written when a check fails.
 *
 * No op is named here but copy: the kernel and the description of its
 * bytes both come from the graph's resolver (graph->kernels, fp_resolver.h),
 * so a firmware links only the kernels and describe functions of its table,
 * and this file does not grow when an op is added. A known op the table
 * lacks is FP_ERR_UNRESOLVED (before any bounds check: without the entry
 * there is nothing to check against). Copy layers are a memmove done here,
 * not a kernel.
 */
#include <string.h>

#include "fp_runtime.h"
#include "fp_graph_internal.h"
#include "../internal/fp_describe.h"

#define FP_MAX_LAYER_INPUTS 8
#define FP_DTYPE_ANY 0xFFu

/* Fill `need` for the layer: its datapath's activation type, then the
 * resolver entry's describe function (a copy, the executor's own op, is
 * described here). FP_ERR_UNSUPPORTED for an unknown op or datapath value,
 * FP_ERR_UNRESOLVED for an op the table lacks, FP_ERR_ARG for params whose
 * byte counts are invalid (a non-positive dim, a zero count, input counts
 * that disagree with the layer). */
static fp_status_t fp_describe(const fp_graph_t *graph, const fp_layer_t *layer, const fp_kernel_entry_t *entry,
                               fp_io_need_t *need)
{
    uint8_t act;
    uint32_t i;
    fp_status_t st;
    memset(need, 0, sizeof *need);
    switch (layer->datapath) {
    case FP_DP_S8:
    case FP_DP_S4:
    case FP_DP_S2:
    case FP_DP_S1: act = FP_DTYPE_S8; break;
    case FP_DP_S16: act = FP_DTYPE_S16; break;
    default: return FP_ERR_UNSUPPORTED;
    }
    if (layer->op >= FP_OP_COUNT) {
        return FP_ERR_UNSUPPORTED;
    }
    if (layer->op == FP_OP_COPY) {
        need->n_in = 1;
        need->in_bytes[0] = fp_mul_count(1, layer->params.copy.bytes);
        need->in_dtype[0] = FP_DTYPE_ANY;
        need->out_bytes = need->in_bytes[0];
        need->out_dtype = FP_DTYPE_ANY;
    } else if (entry == NULL) {
        return FP_ERR_UNRESOLVED;
    } else {
        st = entry->describe(graph, layer, act, need);
        if (st != FP_OK) {
            return st;
        }
    }
    if (need->n_in < 1 || need->n_in > FP_MAX_LAYER_INPUTS || layer->n_inputs != need->n_in
        || need->out_bytes == 0) {
        return FP_ERR_ARG;
    }
    for (i = 0; i < need->n_in; ++i) {
        if (need->in_bytes[i] == 0) {
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
    if (need->const_in1) {
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
    kernel = layer->op == FP_OP_COPY ? NULL : fp_graph_find_kernel(graph, layer);
    st = fp_describe(graph, layer, kernel, &need);
    if (st != FP_OK) {
        return st;
    }
    st = fp_bind_io(graph, layer, &need, arena, &io);
    if (st != FP_OK) {
        return st;
    }
    if (kernel == NULL) {
        /* A copy (fp_describe resolved every other op). Ranges were checked
         * disjoint; memmove costs nothing extra here. */
        memmove(io.out, io.in[0], (size_t)layer->params.copy.bytes);
        return FP_OK;
    }
    if (scratch == NULL) {
        scratch_size = 0;
    }
    if (kernel->scratch_size != NULL && kernel->scratch_size(layer) > scratch_size) {
        return FP_ERR_SCRATCH;
    }
    return kernel->run(layer, &io, scratch);
}
