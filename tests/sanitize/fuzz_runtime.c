/*
 * fuzz_runtime.c - drives every runtime kernel and the graph executor with
 * random parameter sets, sane and hostile, under AddressSanitizer and
 * UndefinedBehaviorSanitizer (.ci/sanitize.sh builds and runs it).
 *
 * Each case draws a small consistent configuration (dims, strides, offsets,
 * requantization...), allocates every buffer with exactly the bytes those
 * dims need (so ASan's redzones catch any overrun), then in "hostile" cases
 * overwrites a few fields with extreme values: negative / zero / INT32_MIN /
 * INT32_MAX dims, huge or negative shifts, multipliers and offsets, invalid
 * rounding modes and multiplier widths, NULL tables. Dims are only ever made
 * smaller or non-positive, never larger than the buffers, because a caller
 * passing dims larger than its buffers is outside the contract.
 *
 * Checked here: no sanitizer report (the run aborts on the first one), every
 * case with a non-positive dim returns FP_ERR_ARG, and a rejected call leaves
 * its output untouched. Numeric results are checked by the Python tests,
 * except for the optimized variants (fp_<op>_<dp>_opt): every case of a
 * kernel that has one also runs the variant on the same inputs, which must
 * return the same status and write the same bytes (differential check).
 *
 * The graph part builds one-layer graphs in an exactly sized heap arena and
 * corrupts the tensor table, indices, counts, op and datapath: the executor
 * must reject anything that would leave the arena.
 *
 * The generators live in fuzz_case.c.
 *
 * Usage: fuzz_runtime [cases_per_kernel] [seed]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fp_runtime.h"
#include "fuzz_case.h"

/* The highest fp_op_t value defined + 1: derived, so a new op is never fuzzed as "unknown"
 * (that would reinterpret the params union of another op). */
#define FZ_FIRST_UNKNOWN_OP FP_OP_COUNT

/* ---- calling the kernels directly --------------------------------------- */

static fp_status_t call_kernel(const fz_case_t *c, const void *const *in, void *out, void *scratch)
{
    const fp_layer_params_t *p = &c->layer.params;
    const int8_t *w = c->layer.weights;
    const int32_t *b32 = c->layer.bias;
    const int64_t *b64 = c->layer.bias;
    int s16 = c->layer.datapath == FP_DP_S16;
    int s4 = c->layer.datapath == FP_DP_S4;
    int s2 = c->layer.datapath == FP_DP_S2;
    int s1 = c->layer.datapath == FP_DP_S1;
    if (c->variant == FZ_ACC32) {
        switch (c->layer.op) {
        case FP_OP_CONV2D: return fp_conv2d_s16_acc32(&p->conv2d, in[0], w, b32, out, scratch);
        case FP_OP_DEPTHWISE_CONV2D:
            return fp_depthwise_conv2d_s16_acc32(&p->depthwise_conv2d, in[0], w, b32, out, scratch);
        default: return fp_fully_connected_s16_acc32(&p->fully_connected, in[0], w, b32, out, scratch);
        }
    }
    if (c->variant == FZ_S8_S16) {
        return fp_softmax_s8_s16(&p->softmax, in[0], out);
    }
    switch (c->layer.op) {
    case FP_OP_CONV2D:
        return s16 ? fp_conv2d_s16(&p->conv2d, in[0], w, b64, out, scratch)
             : s4 ? fp_conv2d_s4(&p->conv2d, in[0], w, b32, out, scratch)
             : s2 ? fp_conv2d_s2(&p->conv2d, in[0], w, b32, out, scratch)
             : s1 ? fp_conv2d_s1(&p->conv2d, in[0], w, b32, out, scratch)
                  : fp_conv2d_s8(&p->conv2d, in[0], w, b32, out, scratch);
    case FP_OP_DEPTHWISE_CONV2D:
        return s16 ? fp_depthwise_conv2d_s16(&p->depthwise_conv2d, in[0], w, b64, out, scratch)
             : s4 ? fp_depthwise_conv2d_s4(&p->depthwise_conv2d, in[0], w, b32, out, scratch)
             : s2 ? fp_depthwise_conv2d_s2(&p->depthwise_conv2d, in[0], w, b32, out, scratch)
             : s1 ? fp_depthwise_conv2d_s1(&p->depthwise_conv2d, in[0], w, b32, out, scratch)
                  : fp_depthwise_conv2d_s8(&p->depthwise_conv2d, in[0], w, b32, out, scratch);
    case FP_OP_TRANSPOSE_CONV2D:
        return s16 ? fp_transpose_conv2d_s16(&p->transpose_conv2d, in[0], w, b64, out, scratch)
             : s4 ? fp_transpose_conv2d_s4(&p->transpose_conv2d, in[0], w, b32, out, scratch)
                  : fp_transpose_conv2d_s8(&p->transpose_conv2d, in[0], w, b32, out, scratch);
    case FP_OP_FULLY_CONNECTED:
        return s16 ? fp_fully_connected_s16(&p->fully_connected, in[0], w, b64, out, scratch)
             : s4 ? fp_fully_connected_s4(&p->fully_connected, in[0], w, b32, out, scratch)
             : s2 ? fp_fully_connected_s2(&p->fully_connected, in[0], w, b32, out, scratch)
             : s1 ? fp_fully_connected_s1(&p->fully_connected, in[0], w, b32, out, scratch)
                  : fp_fully_connected_s8(&p->fully_connected, in[0], w, b32, out, scratch);
    case FP_OP_ADD: return s16 ? fp_add_s16(&p->add, in[0], in[1], out) : fp_add_s8(&p->add, in[0], in[1], out);
    case FP_OP_MUL: return s16 ? fp_mul_s16(&p->mul, in[0], in[1], out) : fp_mul_s8(&p->mul, in[0], in[1], out);
    case FP_OP_MAX_POOL: return s16 ? fp_max_pool_s16(&p->pool, in[0], out) : fp_max_pool_s8(&p->pool, in[0], out);
    case FP_OP_AVG_POOL: return s16 ? fp_avg_pool_s16(&p->pool, in[0], out) : fp_avg_pool_s8(&p->pool, in[0], out);
    case FP_OP_SOFTMAX: return s16 ? fp_softmax_s16(&p->softmax, in[0], out) : fp_softmax_s8(&p->softmax, in[0], out);
    case FP_OP_CONCAT:
        return s16 ? fp_concat_s16(&p->concat, (const int16_t *const *)(const void *)in, out)
                   : fp_concat_s8(&p->concat, (const int8_t *const *)(const void *)in, out);
    case FP_OP_PAD: return s16 ? fp_pad_s16(&p->pad, in[0], out) : fp_pad_s8(&p->pad, in[0], out);
    case FP_OP_TRANSPOSE:
        return s16 ? fp_transpose_s16(&p->transpose, in[0], out) : fp_transpose_s8(&p->transpose, in[0], out);
    case FP_OP_RESIZE: return s16 ? fp_resize_s16(&p->resize, in[0], out) : fp_resize_s8(&p->resize, in[0], out);
    case FP_OP_SLICE: return s16 ? fp_slice_s16(&p->slice, in[0], out) : fp_slice_s8(&p->slice, in[0], out);
    case FP_OP_REDUCE: return s16 ? fp_reduce_s16(&p->reduce, in[0], out) : fp_reduce_s8(&p->reduce, in[0], out);
    case FP_OP_LSTM: return fp_lstm_s8(&p->lstm, in[0], w, b32, out, scratch);
    case FP_OP_GRU: return fp_gru_s8(&p->gru, in[0], w, b32, out, scratch);
    case FP_OP_BATCH_MATMUL:
        return s16 ? fp_batch_matmul_s16(&p->batch_matmul, in[0], in[1], out)
                   : fp_batch_matmul_s8(&p->batch_matmul, in[0], in[1], out);
    case FP_OP_LAYER_NORM:
        return s16 ? fp_layer_norm_s16(&p->layer_norm, in[0], out) : fp_layer_norm_s8(&p->layer_norm, in[0], out);
    case FP_OP_LEAKY_RELU:
        return s16 ? fp_leaky_relu_s16(&p->leaky_relu, in[0], out) : fp_leaky_relu_s8(&p->leaky_relu, in[0], out);
    case FP_OP_LUT: return s16 ? fp_lut_s16(&p->lut, in[0], out) : fp_lut_s8(&p->lut, in[0], out);
    case FP_OP_PRELU: return s16 ? fp_prelu_s16(&p->prelu, in[0], out) : fp_prelu_s8(&p->prelu, in[0], out);
    case FP_OP_MINIMUM:
        return s16 ? fp_minimum_s16(&p->minmax, in[0], in[1], out) : fp_minimum_s8(&p->minmax, in[0], in[1], out);
    case FP_OP_MAXIMUM:
        return s16 ? fp_maximum_s16(&p->minmax, in[0], in[1], out) : fp_maximum_s8(&p->minmax, in[0], in[1], out);
    default:
        if (c->in_dtype[0] == FP_DTYPE_S16) {
            return fp_requantize_s16_s8(&p->requantize, in[0], out);
        }
        return c->out_dtype == FP_DTYPE_S16 ? fp_requantize_s8_s16(&p->requantize, in[0], out)
                                             : fp_requantize_s8_s8(&p->requantize, in[0], out);
    }
}

static size_t scratch_size(const fz_case_t *c)
{
    const fp_layer_params_t *p = &c->layer.params;
    switch (c->layer.op) {
    case FP_OP_CONV2D:
        return c->layer.datapath == FP_DP_S16 ? fp_conv2d_s16_scratch_size(&p->conv2d)
             : c->layer.datapath == FP_DP_S4 ? fp_conv2d_s4_scratch_size(&p->conv2d)
             : c->layer.datapath == FP_DP_S2 ? fp_conv2d_s2_scratch_size(&p->conv2d)
             : c->layer.datapath == FP_DP_S1 ? fp_conv2d_s1_scratch_size(&p->conv2d)
                                              : fp_conv2d_s8_scratch_size(&p->conv2d);
    case FP_OP_DEPTHWISE_CONV2D:
        return c->layer.datapath == FP_DP_S16 ? fp_depthwise_conv2d_s16_scratch_size(&p->depthwise_conv2d)
             : c->layer.datapath == FP_DP_S4 ? fp_depthwise_conv2d_s4_scratch_size(&p->depthwise_conv2d)
             : c->layer.datapath == FP_DP_S2 ? fp_depthwise_conv2d_s2_scratch_size(&p->depthwise_conv2d)
             : c->layer.datapath == FP_DP_S1 ? fp_depthwise_conv2d_s1_scratch_size(&p->depthwise_conv2d)
                                              : fp_depthwise_conv2d_s8_scratch_size(&p->depthwise_conv2d);
    case FP_OP_FULLY_CONNECTED:
        return c->layer.datapath == FP_DP_S16 ? fp_fully_connected_s16_scratch_size(&p->fully_connected)
             : c->layer.datapath == FP_DP_S4 ? fp_fully_connected_s4_scratch_size(&p->fully_connected)
             : c->layer.datapath == FP_DP_S2 ? fp_fully_connected_s2_scratch_size(&p->fully_connected)
             : c->layer.datapath == FP_DP_S1 ? fp_fully_connected_s1_scratch_size(&p->fully_connected)
                                              : fp_fully_connected_s8_scratch_size(&p->fully_connected);
    case FP_OP_TRANSPOSE_CONV2D:
        return c->layer.datapath == FP_DP_S16 ? fp_transpose_conv2d_s16_scratch_size(&p->transpose_conv2d)
             : c->layer.datapath == FP_DP_S4 ? fp_transpose_conv2d_s4_scratch_size(&p->transpose_conv2d)
                                              : fp_transpose_conv2d_s8_scratch_size(&p->transpose_conv2d);
    case FP_OP_LSTM: return fp_lstm_s8_scratch_size(&p->lstm);
    case FP_OP_GRU: return fp_gru_s8_scratch_size(&p->gru);
    default:
        return 0;
    }
}

/* The optimized variant of the case's kernel on the same arguments; 0 when
 * the kernel has none (*has = 0). */
static fp_status_t call_variant(const fz_case_t *c, const void *const *in, void *out, void *scratch, int *has)
{
    const fp_layer_params_t *p = &c->layer.params;
    const int8_t *w = c->layer.weights;
    const int32_t *b32 = c->layer.bias;
    *has = c->variant == FZ_PLAIN && c->layer.datapath == FP_DP_S8;
    if (!*has) {
        return FP_OK;
    }
    switch (c->layer.op) {
    case FP_OP_CONV2D: return fp_conv2d_s8_opt(&p->conv2d, in[0], w, b32, out, scratch);
    case FP_OP_DEPTHWISE_CONV2D: return fp_depthwise_conv2d_s8_opt(&p->depthwise_conv2d, in[0], w, b32, out, scratch);
    case FP_OP_FULLY_CONNECTED: return fp_fully_connected_s8_opt(&p->fully_connected, in[0], w, b32, out, scratch);
    case FP_OP_ADD: return fp_add_s8_opt(&p->add, in[0], in[1], out);
    case FP_OP_LEAKY_RELU: return fp_leaky_relu_s8_opt(&p->leaky_relu, in[0], out);
    default: *has = 0; return FP_OK;
    }
}

static size_t variant_scratch_size(const fz_case_t *c)
{
    const fp_layer_params_t *p = &c->layer.params;
    switch (c->layer.op) {
    case FP_OP_CONV2D: return fp_conv2d_s8_opt_scratch_size(&p->conv2d);
    case FP_OP_DEPTHWISE_CONV2D: return fp_depthwise_conv2d_s8_opt_scratch_size(&p->depthwise_conv2d);
    case FP_OP_FULLY_CONNECTED: return fp_fully_connected_s8_opt_scratch_size(&p->fully_connected);
    default: return 0;
    }
}

static int failures = 0;
static long variant_cases = 0;
static long variant_ok = 0;

static void fail(const char *kernel, long iter, const char *what)
{
    fprintf(stderr, "FAIL %s case %ld: %s\n", kernel, iter, what);
    failures++;
}

/* The variant from the same initial output bytes (before) must return st
 * and leave exactly the bytes the reference left (ref_out). */
static void check_variant(fz_case_t *c, const char *name, long iter, const void *const *in,
                          const uint8_t *before, const uint8_t *ref_out, void *scratch, fp_status_t st)
{
    int has;
    fp_status_t vst;
    uint8_t *out2 = owned(c, c->out_bytes);
    memcpy(out2, before, c->out_bytes);
    vst = call_variant(c, in, out2, scratch, &has);
    if (!has) {
        return;
    }
    variant_cases++;
    variant_ok += st == FP_OK;
    if (vst != st) {
        fail(name, iter, "the _opt variant returned another status than the reference");
    } else if (memcmp(out2, ref_out, c->out_bytes) != 0) {
        fail(name, iter, "the _opt variant's output differs from the reference's");
    }
}

static void run_direct(fz_kernel_t *k, long iter)
{
    fz_case_t c;
    const void *in[8] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    uint8_t *out;
    uint8_t *copy;
    void *scratch = NULL;
    size_t need;
    uint32_t i;
    int hostile;
    int bad_dim = 0;
    fp_status_t st;
    generate(&c, k);
    for (i = 0; i < c.n_in; ++i) {
        in[i] = owned(&c, c.in_bytes[i]);
    }
    out = owned(&c, c.out_bytes);
    copy = owned(&c, c.out_bytes);
    memcpy(copy, out, c.out_bytes);
    hostile = rnd() % 2;
    if (hostile) {
        bad_dim = mutate(&c);
    }
    need = scratch_size(&c);
    {
        size_t vneed = variant_scratch_size(&c);
        need = vneed > need ? vneed : need;
    }
    if (need > ((size_t)1 << 24)) {
        fail(k->name, iter, "scratch size beyond 16 MiB for tiny dims");
        free_case(&c);
        return;
    }
    if (need > 0) {
        scratch = owned(&c, need);
    }
    st = call_kernel(&c, in, out, scratch);
    check_variant(&c, k->name, iter, in, copy, out, scratch, st);
    k->cases++;
    if (st == FP_OK) {
        k->ok++;
    } else {
        k->rejected++;
        if (memcmp(copy, out, c.out_bytes) != 0) {
            fail(k->name, iter, "output written although the call was rejected");
        }
    }
    if (bad_dim && st != FP_ERR_ARG) {
        fail(k->name, iter, "non-positive dim not rejected with FP_ERR_ARG");
    }
    free_case(&c);
}

/* ---- the graph executor -------------------------------------------------- */

/* The full table's entry for the layer's (op, datapath), without its describe
 * function: the executor must ignore such an entry (no kernel runs without
 * the bounds its describe function gives). */
static fp_kernel_entry_t fz_no_describe_entry;
static const fp_kernel_table_t fz_no_describe_table = { &fz_no_describe_entry, 1 };

static const fp_kernel_table_t *no_describe_table(const fp_layer_t *layer)
{
    const fp_kernel_table_t *all = fp_kernels_all();
    uint32_t i;
    memset(&fz_no_describe_entry, 0, sizeof fz_no_describe_entry);
    for (i = 0; i < all->n_entries; ++i) {
        if (all->entries[i].op == layer->op && all->entries[i].datapath == layer->datapath) {
            fz_no_describe_entry = all->entries[i];
            fz_no_describe_entry.describe = NULL;
        }
    }
    return &fz_no_describe_table;
}

static void run_graph(fz_kernel_t *k, long iter)
{
    fz_case_t c;
    fp_tensor_t tensors[10];
    fp_graph_t g;
    uint8_t *arena;
    uint8_t *copy;
    uint32_t offset = 0;
    uint32_t i;
    size_t scratch_need;
    void *scratch;
    fp_status_t st;
    int n_mut;
    generate(&c, k);
    memset(&g, 0, sizeof g);
    memset(tensors, 0, sizeof tensors);
    for (i = 0; i <= c.n_in; ++i) { /* inputs 0..n_in-1, output n_in */
        size_t bytes = i < c.n_in ? c.in_bytes[i] : c.out_bytes;
        tensors[i].offset = offset;
        tensors[i].size = (uint32_t)bytes;
        tensors[i].dims = rdims(1, 1, 1, (int32_t)(bytes / elsize(i < c.n_in ? c.in_dtype[i] : c.out_dtype)));
        tensors[i].dtype = i < c.n_in ? c.in_dtype[i] : c.out_dtype;
        offset += (uint32_t)((bytes + 3u) & ~(size_t)3u);
        if (i < c.n_in) {
            c.layer.inputs[i] = (uint16_t)i;
        }
    }
    c.layer.output = (uint16_t)c.n_in;
    g.tensors = tensors;
    g.n_tensors = c.n_in + 1;
    g.layers = &c.layer;
    g.n_layers = 1;
    g.arena_size = offset;
    /* The full resolver; now and then none, or the layer's entry without its
     * describe function, either of which must reject every kernel layer. */
    switch (rnd() % 16) {
    case 0: g.kernels = NULL; break;
    case 1: g.kernels = no_describe_table(&c.layer); break;
    default: g.kernels = fp_kernels_all(); break;
    }
    n_mut = rnd() % 4 ? 1 + (int)(rnd() % 3) : 0;
    while (n_mut-- > 0) {
        uint32_t t = rnd() % g.n_tensors;
        switch (rnd() % 10) {
        case 0: tensors[t].offset = (uint32_t)hostile_i32(); break;
        case 1: tensors[t].offset += rnd_in(-8, 8) * 2; break;
        case 2: tensors[t].size = (uint32_t)hostile_i32(); break;
        case 3: tensors[t].dtype = (uint8_t)rnd(); break;
        case 4: c.layer.inputs[rnd() % 8] = (uint16_t)rnd(); break;
        case 5: c.layer.output = (uint16_t)(rnd() % 12); break;
        case 6: c.layer.n_inputs = (uint8_t)(rnd() % 10); break;
        case 7: g.arena_size = (uint32_t)rnd_in(0, (int32_t)g.arena_size); break;
        /* Only to unknown values: another valid op or datapath would reinterpret
         * the params union and the (trusted) weight tables. */
        case 8: c.layer.op = (uint8_t)(FZ_FIRST_UNKNOWN_OP + rnd() % (256 - FZ_FIRST_UNKNOWN_OP)); break;
        default: c.layer.datapath = (uint8_t)(5 + rnd() % 251); break;
        }
    }
    arena = owned(&c, g.arena_size);
    copy = owned(&c, g.arena_size);
    memcpy(copy, arena, g.arena_size);
    scratch_need = fp_graph_scratch_size(&g);
    scratch = scratch_need ? owned(&c, scratch_need) : NULL;
    st = fp_graph_run_layer(&g, 0, arena, scratch, scratch_need);
    k->cases++;
    if (g.kernels == NULL && c.layer.op != FP_OP_COPY && st == FP_OK) {
        fail(k->name, iter, "a layer ran without a kernel table");
    }
    if (g.kernels == &fz_no_describe_table && c.layer.op != FP_OP_COPY && st == FP_OK) {
        fail(k->name, iter, "a layer ran through an entry without a describe function");
    }
    if (st == FP_OK) {
        k->ok++;
    } else {
        k->rejected++;
        if (memcmp(copy, arena, g.arena_size) != 0) {
            fail(k->name, iter, "arena written although the layer was rejected");
        }
    }
    free_case(&c);
}

static void run_requant_primitives(long cases)
{
    long i;
    volatile int64_t sink = 0;
    for (i = 0; i < cases; ++i) {
        fp_rq_mode_t m;
        int64_t acc64 = (int64_t)(((uint64_t)(int64_t)hostile_i32() << (rnd() % 33)) ^ rnd());
        m.rounding = (uint8_t)(rnd() % 4);
        m.multiplier_bits = (uint8_t)(rnd() % 40);
        m.acc_bits = (uint8_t)(rnd() % 40);        /* engine accumulators, legal or not */
        m.acc_wrap = (uint8_t)(rnd() % 3);
        sink += fp_requantize_acc32(hostile_i32(), hostile_i32(), hostile_i32(), m);
        sink += fp_requantize_acc64(acc64, hostile_i32(), hostile_i32(), m);
    }
    (void)sink;
    printf("  %-26s %8ld cases\n", "fp_requantize_acc32/64", cases);
}

int main(int argc, char **argv)
{
    static fz_kernel_t kernels[] = {
        {"fp_conv2d_s8", FP_OP_CONV2D, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_conv2d_s4", FP_OP_CONV2D, FP_DP_S4, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_conv2d_s2", FP_OP_CONV2D, FP_DP_S2, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_conv2d_s1", FP_OP_CONV2D, FP_DP_S1, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_conv2d_s16", FP_OP_CONV2D, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_depthwise_conv2d_s8", FP_OP_DEPTHWISE_CONV2D, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_depthwise_conv2d_s4", FP_OP_DEPTHWISE_CONV2D, FP_DP_S4, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_depthwise_conv2d_s2", FP_OP_DEPTHWISE_CONV2D, FP_DP_S2, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_depthwise_conv2d_s1", FP_OP_DEPTHWISE_CONV2D, FP_DP_S1, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_depthwise_conv2d_s16", FP_OP_DEPTHWISE_CONV2D, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_fully_connected_s8", FP_OP_FULLY_CONNECTED, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_fully_connected_s4", FP_OP_FULLY_CONNECTED, FP_DP_S4, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_fully_connected_s2", FP_OP_FULLY_CONNECTED, FP_DP_S2, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_fully_connected_s1", FP_OP_FULLY_CONNECTED, FP_DP_S1, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_fully_connected_s16", FP_OP_FULLY_CONNECTED, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_add_s8", FP_OP_ADD, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_add_s16", FP_OP_ADD, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_mul_s8", FP_OP_MUL, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_mul_s16", FP_OP_MUL, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_max_pool_s8", FP_OP_MAX_POOL, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_max_pool_s16", FP_OP_MAX_POOL, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_avg_pool_s8", FP_OP_AVG_POOL, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_avg_pool_s16", FP_OP_AVG_POOL, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_softmax_s8", FP_OP_SOFTMAX, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_softmax_s16", FP_OP_SOFTMAX, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_concat_s8", FP_OP_CONCAT, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_concat_s16", FP_OP_CONCAT, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_pad_s8", FP_OP_PAD, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_pad_s16", FP_OP_PAD, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_transpose_s8", FP_OP_TRANSPOSE, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_transpose_s16", FP_OP_TRANSPOSE, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_resize_s8", FP_OP_RESIZE, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_resize_s16", FP_OP_RESIZE, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_slice_s8", FP_OP_SLICE, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_slice_s16", FP_OP_SLICE, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_transpose_conv2d_s8", FP_OP_TRANSPOSE_CONV2D, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_transpose_conv2d_s4", FP_OP_TRANSPOSE_CONV2D, FP_DP_S4, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_transpose_conv2d_s16", FP_OP_TRANSPOSE_CONV2D, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_reduce_s8", FP_OP_REDUCE, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_reduce_s16", FP_OP_REDUCE, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_lstm_s8", FP_OP_LSTM, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_gru_s8", FP_OP_GRU, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_batch_matmul_s8", FP_OP_BATCH_MATMUL, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_batch_matmul_s16", FP_OP_BATCH_MATMUL, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_layer_norm_s8", FP_OP_LAYER_NORM, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_layer_norm_s16", FP_OP_LAYER_NORM, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_leaky_relu_s8", FP_OP_LEAKY_RELU, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_leaky_relu_s16", FP_OP_LEAKY_RELU, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_lut_s8", FP_OP_LUT, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_lut_s16", FP_OP_LUT, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_prelu_s8", FP_OP_PRELU, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_prelu_s16", FP_OP_PRELU, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_minimum_s8", FP_OP_MINIMUM, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_minimum_s16", FP_OP_MINIMUM, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_maximum_s8", FP_OP_MAXIMUM, FP_DP_S8, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_maximum_s16", FP_OP_MAXIMUM, FP_DP_S16, 0, 0, 0, 0, FZ_PLAIN},
        {"fp_requantize_s8_s8", FP_OP_REQUANTIZE, FP_DP_S8, FP_DTYPE_S8, 0, 0, 0, FZ_PLAIN},
        {"fp_requantize_s8_s16", FP_OP_REQUANTIZE, FP_DP_S8, FP_DTYPE_S16, 0, 0, 0, FZ_PLAIN},
        {"fp_requantize_s16_s8", FP_OP_REQUANTIZE, FP_DP_S16, FP_DTYPE_S8, 0, 0, 0, FZ_PLAIN},
        {"fp_conv2d_s16_acc32", FP_OP_CONV2D, FP_DP_S16, 0, 0, 0, 0, FZ_ACC32},
        {"fp_depthwise_conv2d_s16_acc32", FP_OP_DEPTHWISE_CONV2D, FP_DP_S16, 0, 0, 0, 0, FZ_ACC32},
        {"fp_fully_connected_s16_acc32", FP_OP_FULLY_CONNECTED, FP_DP_S16, 0, 0, 0, 0, FZ_ACC32},
        {"fp_softmax_s8_s16", FP_OP_SOFTMAX, FP_DP_S8, 0, 0, 0, 0, FZ_S8_S16},
    };
    const size_t n_kernels = sizeof kernels / sizeof kernels[0];
    long cases = argc > 1 ? atol(argv[1]) : 4000;
    size_t k;
    long i;
    if (argc > 2) {
        rnd_seed((uint64_t)strtoull(argv[2], NULL, 10));
    }
    printf("kernels called directly (sane and hostile parameters):\n");
    for (k = 0; k < n_kernels; ++k) {
        for (i = 0; i < cases; ++i) {
            run_direct(&kernels[k], i);
        }
        printf("  %-26s %8ld cases, %6ld ok, %6ld rejected\n", kernels[k].name, kernels[k].cases, kernels[k].ok,
               kernels[k].rejected);
    }
    printf("  optimized variants vs reference: %ld cases, %ld ok, identical\n", variant_cases, variant_ok);
    run_requant_primitives(cases * 10);
    printf("graph executor (fp_graph_run_layer on corrupted one-layer graphs):\n");
    for (k = 0; k < n_kernels; ++k) {
        kernels[k].cases = kernels[k].ok = kernels[k].rejected = 0;
        if (kernels[k].variant != FZ_PLAIN) {
            continue; /* not dispatched by the graph executor */
        }
        for (i = 0; i < cases / 2; ++i) {
            run_graph(&kernels[k], i);
        }
        printf("  %-26s %8ld cases, %6ld ok, %6ld rejected\n", kernels[k].name, kernels[k].cases, kernels[k].ok,
               kernels[k].rejected);
    }
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all cases passed\n");
    return 0;
}
