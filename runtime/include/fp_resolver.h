/*
 * fp_resolver.h - the op resolver: kernel entries the graph executor calls.
 *
 * fp_graph_run_layer never names a kernel. It looks the layer's (op,
 * datapath) up in graph->kernels (fp_kernel_table_t, fp_types.h) and calls the
 * entry's run function, so an image contains exactly the kernels its table
 * names (with -ffunction-sections -fdata-sections and --gc-sections).
 *
 *   - The generated model code (codegen_templates/model.c.j2) emits a table
 *     with the pairs its plan uses, e.g.
 *         { FP_OP_CONV2D, FP_DP_S8, fp_run_conv2d_s8, fp_need_conv2d_s8, fp_describe_conv2d },
 *         { FP_OP_ADD, FP_DP_S8, fp_run_add_s8, NULL, fp_describe_add },
 *   - fp_kernels_all() (runtime/src/graph/fp_kernels_all.c) is the table of
 *     every line of FP_KERNEL_LIST; the host simulator runs with it.
 *
 * The executor has no per-op code either: the bytes a layer's kernel reads
 * and writes (for the arena bounds checks) come from the entry's describe
 * function, fp_describe_<member> (runtime/src/describe/, one per params union
 * member, declared below), so an op's bounds logic is linked only where a
 * table names the op, like its kernel.
 *
 * The run and scratch entry functions (fp_kernel_run_fn_t,
 * fp_kernel_scratch_fn_t of fp_types.h) are small adapters,
 * defined below from FP_KERNEL_LIST as static inline functions: a translation
 * unit emits only those whose address it takes, and no new external symbol
 * appears. fp_run_<name> passes the layer's params, tensors, weights and bias
 * to the kernel with their C types; fp_need_<name> (weighted kernels only)
 * returns the kernel's *_scratch_size.
 *
 * Adding a kernel to the resolver is ONE line in FP_KERNEL_LIST:
 *     X(family, OP, DP, name, member, kernel)
 *   family  how the kernel is called (FP_ADAPT_<family> below):
 *           W8 / W16  weighted: (params, input, weights, bias, output, scratch)
 *                     int8 + int32 bias / int16 + int64 bias, with a
 *                     <kernel>_scratch_size twin
 *           U8 / U16  unary: (params, input, output)
 *           B8 / B16  binary: (params, input1, input2, output)
 *           C8 / C16  concat: (params, input pointer array, output)
 *           RQ        requantize: picks fp_requantize_<in>_<out> by the
 *                     tensors' dtypes (s8->s8, s8->s16, s16->s8)
 *   OP, DP  the fp_op_t / fp_datapath_t suffixes (FP_OP_<OP>, FP_DP_<DP>)
 *   name    <op key>_<datapath> of fixpoint.ops.runtime_ops: the adapters are
 *           fp_run_<name> / fp_need_<name>, the names the code generator
 *           emits; tests/sim/test_sim_resolver.py checks the list against
 *           RUNTIME_OPS (pairs and kernel per datapath)
 *   member  the fp_layer_params_t union member the kernel's params live in;
 *           the row's describe function is fp_describe_<member>
 *   kernel  the C kernel (RUNTIME_OPS[op].kernels[datapath]); s4 activation-
 *           only ops run the int8 kernel
 * A new family (a new kernel signature) needs one FP_ADAPT_<family> macro and
 * one FP_NEED_<family> macro here.
 */
#ifndef FP_RESOLVER_H
#define FP_RESOLVER_H

#include <stddef.h>

#include "fp_runtime.h"

/* clang-format off */
#define FP_KERNEL_LIST(X) \
    X(W8,  CONV2D,           S8,  conv2d_s8,            conv2d,           fp_conv2d_s8) \
    X(W8,  CONV2D,           S4,  conv2d_s4,            conv2d,           fp_conv2d_s4) \
    X(W8,  CONV2D,           S2,  conv2d_s2,            conv2d,           fp_conv2d_s2) \
    X(W8,  CONV2D,           S1,  conv2d_s1,            conv2d,           fp_conv2d_s1) \
    X(W16, CONV2D,           S16, conv2d_s16,           conv2d,           fp_conv2d_s16) \
    X(W8,  DEPTHWISE_CONV2D, S8,  depthwise_conv2d_s8,  depthwise_conv2d, fp_depthwise_conv2d_s8) \
    X(W8,  DEPTHWISE_CONV2D, S4,  depthwise_conv2d_s4,  depthwise_conv2d, fp_depthwise_conv2d_s4) \
    X(W8,  DEPTHWISE_CONV2D, S2,  depthwise_conv2d_s2,  depthwise_conv2d, fp_depthwise_conv2d_s2) \
    X(W8,  DEPTHWISE_CONV2D, S1,  depthwise_conv2d_s1,  depthwise_conv2d, fp_depthwise_conv2d_s1) \
    X(W16, DEPTHWISE_CONV2D, S16, depthwise_conv2d_s16, depthwise_conv2d, fp_depthwise_conv2d_s16) \
    X(W8,  FULLY_CONNECTED,  S8,  fully_connected_s8,   fully_connected,  fp_fully_connected_s8) \
    X(W8,  FULLY_CONNECTED,  S4,  fully_connected_s4,   fully_connected,  fp_fully_connected_s4) \
    X(W8,  FULLY_CONNECTED,  S2,  fully_connected_s2,   fully_connected,  fp_fully_connected_s2) \
    X(W8,  FULLY_CONNECTED,  S1,  fully_connected_s1,   fully_connected,  fp_fully_connected_s1) \
    X(W16, FULLY_CONNECTED,  S16, fully_connected_s16,  fully_connected,  fp_fully_connected_s16) \
    X(B8,  ADD,              S8,  add_s8,               add,              fp_add_s8) \
    X(B8,  ADD,              S4,  add_s4,               add,              fp_add_s8) \
    X(B16, ADD,              S16, add_s16,              add,              fp_add_s16) \
    X(B8,  MUL,              S8,  mul_s8,               mul,              fp_mul_s8) \
    X(B8,  MUL,              S4,  mul_s4,               mul,              fp_mul_s8) \
    X(B16, MUL,              S16, mul_s16,              mul,              fp_mul_s16) \
    X(U8,  MAX_POOL,         S8,  max_pool_s8,          pool,             fp_max_pool_s8) \
    X(U8,  MAX_POOL,         S4,  max_pool_s4,          pool,             fp_max_pool_s8) \
    X(U16, MAX_POOL,         S16, max_pool_s16,         pool,             fp_max_pool_s16) \
    X(U8,  AVG_POOL,         S8,  avg_pool_s8,          pool,             fp_avg_pool_s8) \
    X(U8,  AVG_POOL,         S4,  avg_pool_s4,          pool,             fp_avg_pool_s8) \
    X(U16, AVG_POOL,         S16, avg_pool_s16,         pool,             fp_avg_pool_s16) \
    X(U8,  SOFTMAX,          S8,  softmax_s8,           softmax,          fp_softmax_s8) \
    X(U8,  SOFTMAX,          S4,  softmax_s4,           softmax,          fp_softmax_s8) \
    X(U16, SOFTMAX,          S16, softmax_s16,          softmax,          fp_softmax_s16) \
    X(C8,  CONCAT,           S8,  concat_s8,            concat,           fp_concat_s8) \
    X(C8,  CONCAT,           S4,  concat_s4,            concat,           fp_concat_s8) \
    X(C16, CONCAT,           S16, concat_s16,           concat,           fp_concat_s16) \
    X(U8,  PAD,              S8,  pad_s8,               pad,              fp_pad_s8) \
    X(U8,  PAD,              S4,  pad_s4,               pad,              fp_pad_s8) \
    X(U16, PAD,              S16, pad_s16,              pad,              fp_pad_s16) \
    X(U8,  LEAKY_RELU,       S8,  leaky_relu_s8,        leaky_relu,       fp_leaky_relu_s8) \
    X(U8,  LEAKY_RELU,       S4,  leaky_relu_s4,        leaky_relu,       fp_leaky_relu_s8) \
    X(U16, LEAKY_RELU,       S16, leaky_relu_s16,       leaky_relu,       fp_leaky_relu_s16) \
    X(RQ,  REQUANTIZE,       S8,  requantize_s8,        requantize,       fp_requantize_s8_s8) \
    X(RQ,  REQUANTIZE,       S4,  requantize_s4,        requantize,       fp_requantize_s8_s8) \
    X(RQ,  REQUANTIZE,       S16, requantize_s16,       requantize,       fp_requantize_s16_s8) \
    X(U8,  LUT,              S8,  lut_s8,               lut,              fp_lut_s8) \
    X(U8,  LUT,              S4,  lut_s4,               lut,              fp_lut_s8) \
    X(U16, LUT,              S16, lut_s16,              lut,              fp_lut_s16) \
    X(U8,  PRELU,            S8,  prelu_s8,             prelu,            fp_prelu_s8) \
    X(U8,  PRELU,            S4,  prelu_s4,             prelu,            fp_prelu_s8) \
    X(U16, PRELU,            S16, prelu_s16,            prelu,            fp_prelu_s16) \
    X(B8,  MINIMUM,          S8,  minimum_s8,           minmax,           fp_minimum_s8) \
    X(B8,  MINIMUM,          S4,  minimum_s4,           minmax,           fp_minimum_s8) \
    X(B16, MINIMUM,          S16, minimum_s16,          minmax,           fp_minimum_s16) \
    X(B8,  MAXIMUM,          S8,  maximum_s8,           minmax,           fp_maximum_s8) \
    X(B8,  MAXIMUM,          S4,  maximum_s4,           minmax,           fp_maximum_s8) \
    X(B16, MAXIMUM,          S16, maximum_s16,          minmax,           fp_maximum_s16) \
    X(U8,  TRANSPOSE,        S8,  transpose_s8,         transpose,        fp_transpose_s8) \
    X(U8,  TRANSPOSE,        S4,  transpose_s4,         transpose,        fp_transpose_s8) \
    X(U16, TRANSPOSE,        S16, transpose_s16,        transpose,        fp_transpose_s16) \
    X(U8,  RESIZE,           S8,  resize_s8,            resize,           fp_resize_s8) \
    X(U8,  RESIZE,           S4,  resize_s4,            resize,           fp_resize_s8) \
    X(U16, RESIZE,           S16, resize_s16,           resize,           fp_resize_s16) \
    X(U8,  SLICE,            S8,  slice_s8,             slice,            fp_slice_s8) \
    X(U8,  SLICE,            S4,  slice_s4,             slice,            fp_slice_s8) \
    X(U16, SLICE,            S16, slice_s16,            slice,            fp_slice_s16) \
    X(W8,  TRANSPOSE_CONV2D, S8,  transpose_conv2d_s8,  transpose_conv2d, fp_transpose_conv2d_s8) \
    X(W8,  TRANSPOSE_CONV2D, S4,  transpose_conv2d_s4,  transpose_conv2d, fp_transpose_conv2d_s4) \
    X(W16, TRANSPOSE_CONV2D, S16, transpose_conv2d_s16, transpose_conv2d, fp_transpose_conv2d_s16) \
    X(U8,  REDUCE,           S8,  reduce_s8,            reduce,           fp_reduce_s8) \
    X(U8,  REDUCE,           S4,  reduce_s4,            reduce,           fp_reduce_s8) \
    X(U16, REDUCE,           S16, reduce_s16,           reduce,           fp_reduce_s16) \
    X(W8,  LSTM,             S8,  lstm_s8,              lstm,             fp_lstm_s8) \
    X(W8,  GRU,              S8,  gru_s8,               gru,              fp_gru_s8) \
    X(B8,  BATCH_MATMUL,     S8,  batch_matmul_s8,      batch_matmul,     fp_batch_matmul_s8) \
    X(B8,  BATCH_MATMUL,     S4,  batch_matmul_s4,      batch_matmul,     fp_batch_matmul_s8) \
    X(B16, BATCH_MATMUL,     S16, batch_matmul_s16,     batch_matmul,     fp_batch_matmul_s16) \
    X(U8,  LAYER_NORM,       S8,  layer_norm_s8,        layer_norm,       fp_layer_norm_s8) \
    X(U8,  LAYER_NORM,       S4,  layer_norm_s4,        layer_norm,       fp_layer_norm_s8) \
    X(U16, LAYER_NORM,       S16, layer_norm_s16,       layer_norm,       fp_layer_norm_s16)
/* clang-format on */

/*
 * Optimized variants of reference kernels (docs/kernels.md, "Kernel
 * variants"): same row shape, name <op>_<dp>_<variant>, kernel
 * <reference kernel>_<variant> (s4 activation-only ops run the int8 one)
 * with the reference's signature and bit-identical output. fixpoint.ops.variants.KERNEL_VARIANTS mirrors these rows and
 * choose_kernel() picks one per (op, datapath) and core; the generated
 * model's table names the chosen adapter, and the host simulator's table
 * (fixpoint.sim._build_runtime) the host core's.
 * Rows are grouped by variant.
 */
/* clang-format off */
#define FP_KERNEL_VARIANT_LIST(X) \
    X(W8,  CONV2D,           S8,  conv2d_s8_opt,           conv2d,           fp_conv2d_s8_opt) \
    X(W8,  DEPTHWISE_CONV2D, S8,  depthwise_conv2d_s8_opt, depthwise_conv2d, fp_depthwise_conv2d_s8_opt) \
    X(W8,  FULLY_CONNECTED,  S8,  fully_connected_s8_opt,  fully_connected,  fp_fully_connected_s8_opt) \
    X(B8,  ADD,              S8,  add_s8_opt,              add,              fp_add_s8_opt) \
    X(B8,  ADD,              S4,  add_s4_opt,              add,              fp_add_s8_opt) \
    X(U8,  LEAKY_RELU,       S8,  leaky_relu_s8_opt,       leaky_relu,       fp_leaky_relu_s8_opt) \
    X(U8,  LEAKY_RELU,       S4,  leaky_relu_s4_opt,       leaky_relu,       fp_leaky_relu_s8_opt) \
    X(W8,  CONV2D,           S8,  conv2d_s8_dsp,            conv2d,           fp_conv2d_s8_dsp) \
    X(W8,  DEPTHWISE_CONV2D, S8,  depthwise_conv2d_s8_dsp,  depthwise_conv2d, fp_depthwise_conv2d_s8_dsp) \
    X(W8,  FULLY_CONNECTED,  S8,  fully_connected_s8_dsp,   fully_connected,  fp_fully_connected_s8_dsp) \
    X(B8,  ADD,              S8,  add_s8_dsp,               add,              fp_add_s8_dsp) \
    X(B8,  ADD,              S4,  add_s4_dsp,               add,              fp_add_s8_dsp) \
    X(W8,  CONV2D,           S8,  conv2d_s8_dsp_fast,       conv2d,           fp_conv2d_s8_dsp_fast) \
    X(W8,  DEPTHWISE_CONV2D, S8,  depthwise_conv2d_s8_dsp_fast, depthwise_conv2d, fp_depthwise_conv2d_s8_dsp_fast) \
    X(W8,  FULLY_CONNECTED,  S8,  fully_connected_s8_dsp_fast, fully_connected, fp_fully_connected_s8_dsp_fast) \
    X(W8,  CONV2D,           S8,  conv2d_s8_mve,            conv2d,           fp_conv2d_s8_mve) \
    X(W8,  DEPTHWISE_CONV2D, S8,  depthwise_conv2d_s8_mve,  depthwise_conv2d, fp_depthwise_conv2d_s8_mve) \
    X(W8,  FULLY_CONNECTED,  S8,  fully_connected_s8_mve,   fully_connected,  fp_fully_connected_s8_mve) \
    X(B8,  ADD,              S8,  add_s8_mve,               add,              fp_add_s8_mve) \
    X(B8,  ADD,              S4,  add_s4_mve,               add,              fp_add_s8_mve) \
    X(U8,  MAX_POOL,         S8,  max_pool_s8_mve,          pool,             fp_max_pool_s8_mve) \
    X(U8,  MAX_POOL,         S4,  max_pool_s4_mve,          pool,             fp_max_pool_s8_mve) \
    X(U8,  AVG_POOL,         S8,  avg_pool_s8_mve,          pool,             fp_avg_pool_s8_mve) \
    X(U8,  AVG_POOL,         S4,  avg_pool_s4_mve,          pool,             fp_avg_pool_s8_mve)
/* clang-format on */
/* ---- describe functions, one per params union member ----------------------- */

/* fp_kernel_describe_fn_t (fp_types.h): the arena bytes of a layer whose
 * params are that member, for the executor's bounds checks. External
 * functions (runtime/src/describe/fp_describe_<member>.c), each in its own
 * section: an image holds those its table names. */
#define FP_DECLARE_DESCRIBE(member) \
    fp_status_t fp_describe_##member(const fp_graph_t *graph, const fp_layer_t *layer, uint8_t act, \
                                     fp_io_need_t *need);
FP_DECLARE_DESCRIBE(conv2d)
FP_DECLARE_DESCRIBE(depthwise_conv2d)
FP_DECLARE_DESCRIBE(fully_connected)
FP_DECLARE_DESCRIBE(add)
FP_DECLARE_DESCRIBE(mul)
FP_DECLARE_DESCRIBE(pool)
FP_DECLARE_DESCRIBE(softmax)
FP_DECLARE_DESCRIBE(concat)
FP_DECLARE_DESCRIBE(pad)
FP_DECLARE_DESCRIBE(leaky_relu)
FP_DECLARE_DESCRIBE(requantize)
FP_DECLARE_DESCRIBE(lut)
FP_DECLARE_DESCRIBE(prelu)
FP_DECLARE_DESCRIBE(minmax)
FP_DECLARE_DESCRIBE(transpose)
FP_DECLARE_DESCRIBE(resize)
FP_DECLARE_DESCRIBE(slice)
FP_DECLARE_DESCRIBE(transpose_conv2d)
FP_DECLARE_DESCRIBE(reduce)
FP_DECLARE_DESCRIBE(lstm)
FP_DECLARE_DESCRIBE(gru)
FP_DECLARE_DESCRIBE(batch_matmul)
FP_DECLARE_DESCRIBE(layer_norm)

/* ---- adapters, one macro per kernel signature ----------------------------- */

#define FP_ADAPT_WEIGHTED(name, member, kernel, act_t, bias_t) \
    static inline fp_status_t fp_run_##name(const fp_layer_t *layer, const fp_kernel_io_t *io, void *scratch) \
    { \
        return kernel(&layer->params.member, (const act_t *)io->in[0], (const int8_t *)layer->weights, \
                      (const bias_t *)layer->bias, (act_t *)io->out, scratch); \
    } \
    static inline size_t fp_need_##name(const fp_layer_t *layer) \
    { \
        return kernel##_scratch_size(&layer->params.member); \
    }
#define FP_ADAPT_W8(name, member, kernel) FP_ADAPT_WEIGHTED(name, member, kernel, int8_t, int32_t)
#define FP_ADAPT_W16(name, member, kernel) FP_ADAPT_WEIGHTED(name, member, kernel, int16_t, int64_t)

#define FP_ADAPT_UNARY(name, member, kernel, act_t) \
    static inline fp_status_t fp_run_##name(const fp_layer_t *layer, const fp_kernel_io_t *io, void *scratch) \
    { \
        (void)scratch; \
        return kernel(&layer->params.member, (const act_t *)io->in[0], (act_t *)io->out); \
    }
#define FP_ADAPT_U8(name, member, kernel) FP_ADAPT_UNARY(name, member, kernel, int8_t)
#define FP_ADAPT_U16(name, member, kernel) FP_ADAPT_UNARY(name, member, kernel, int16_t)

#define FP_ADAPT_BINARY(name, member, kernel, act_t) \
    static inline fp_status_t fp_run_##name(const fp_layer_t *layer, const fp_kernel_io_t *io, void *scratch) \
    { \
        (void)scratch; \
        return kernel(&layer->params.member, (const act_t *)io->in[0], (const act_t *)io->in[1], \
                      (act_t *)io->out); \
    }
#define FP_ADAPT_B8(name, member, kernel) FP_ADAPT_BINARY(name, member, kernel, int8_t)
#define FP_ADAPT_B16(name, member, kernel) FP_ADAPT_BINARY(name, member, kernel, int16_t)

/* The executor checked 1 <= n_inputs <= 8; the copy loop is bounded anyway. */
#define FP_ADAPT_CONCAT(name, member, kernel, act_t) \
    static inline fp_status_t fp_run_##name(const fp_layer_t *layer, const fp_kernel_io_t *io, void *scratch) \
    { \
        const act_t *inputs[8]; \
        int32_t i; \
        (void)scratch; \
        for (i = 0; i < 8; ++i) { \
            inputs[i] = (const act_t *)io->in[i]; \
        } \
        return kernel(&layer->params.member, inputs, (act_t *)io->out); \
    }
#define FP_ADAPT_C8(name, member, kernel) FP_ADAPT_CONCAT(name, member, kernel, int8_t)
#define FP_ADAPT_C16(name, member, kernel) FP_ADAPT_CONCAT(name, member, kernel, int16_t)

/* Requantize converts between activation types: the input tensor's dtype and
 * the layer's out_dtype (both checked against the tensors) pick the kernel. */
static inline fp_status_t fp_run_requantize_by_dtype(const fp_layer_t *layer, const fp_kernel_io_t *io)
{
    const fp_requantize_params_t *p = &layer->params.requantize;
    if (io->in_dtype == FP_DTYPE_S8 && io->out_dtype == FP_DTYPE_S8) {
        return fp_requantize_s8_s8(p, (const int8_t *)io->in[0], (int8_t *)io->out);
    }
    if (io->in_dtype == FP_DTYPE_S8 && io->out_dtype == FP_DTYPE_S16) {
        return fp_requantize_s8_s16(p, (const int8_t *)io->in[0], (int16_t *)io->out);
    }
    if (io->in_dtype == FP_DTYPE_S16 && io->out_dtype == FP_DTYPE_S8) {
        return fp_requantize_s16_s8(p, (const int16_t *)io->in[0], (int8_t *)io->out);
    }
    return FP_ERR_UNSUPPORTED;
}
#define FP_ADAPT_RQ(name, member, kernel) \
    static inline fp_status_t fp_run_##name(const fp_layer_t *layer, const fp_kernel_io_t *io, void *scratch) \
    { \
        (void)scratch; \
        return fp_run_requantize_by_dtype(layer, io); \
    }

/* fp_need_<name> for the table: weighted families have one, the others NULL. */
#define FP_NEED_W8(name) fp_need_##name
#define FP_NEED_W16(name) fp_need_##name
#define FP_NEED_U8(name) NULL
#define FP_NEED_U16(name) NULL
#define FP_NEED_B8(name) NULL
#define FP_NEED_B16(name) NULL
#define FP_NEED_C8(name) NULL
#define FP_NEED_C16(name) NULL
#define FP_NEED_RQ(name) NULL

/* One table row of an FP_KERNEL_LIST line (fp_kernels_all.c). */
#define FP_KERNEL_ROW(family, OP, DP, name, member, kernel) \
    { FP_OP_##OP, FP_DP_##DP, fp_run_##name, FP_NEED_##family(name), fp_describe_##member },

/* Every adapter of the list (static inline: emitted only where used). */
#define FP_KERNEL_ADAPTER(family, OP, DP, name, member, kernel) FP_ADAPT_##family(name, member, kernel)
FP_KERNEL_LIST(FP_KERNEL_ADAPTER)
FP_KERNEL_VARIANT_LIST(FP_KERNEL_ADAPTER)

#endif /* FP_RESOLVER_H */
