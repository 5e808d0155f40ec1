/* fuzz_case.c - random layers for the sanitizer driver (see fuzz_case.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_case.h"

/* ---- random numbers ----------------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

void rnd_seed(uint64_t seed)
{
    rng_state ^= seed * 0x2545F4914F6CDD1Du;
}

uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

int32_t rnd_in(int32_t lo, int32_t hi) /* inclusive, hi - lo < 2^31 */
{
    return lo + (int32_t)(rnd() % (uint32_t)(hi - lo + 1));
}

int32_t hostile_i32(void)
{
    static const int32_t special[] = {0, -1, 1, 2, INT32_MIN, INT32_MAX, INT32_MIN + 1, INT32_MAX - 1,
                                      1 << 30, -(1 << 30), 15, 16, 31, 32, 33, 47, 62, 63, 64, -15, -16,
                                      -31, -32, -33, -47, -62, -63, -64, 127, 128, -128, -129, 32767,
                                      32768, -32768, -32769, 65535, 1 << 24};
    if (rnd() % 4 == 0) {
        return (int32_t)rnd(); /* any 32-bit pattern */
    }
    return special[rnd() % (sizeof special / sizeof special[0])];
}

static void field(fz_case_t *c, void *ptr, field_kind_t kind)
{
    if (c->n_fields < MAX_FIELDS) {
        c->fields[c->n_fields].ptr = ptr;
        c->fields[c->n_fields].kind = kind;
        c->n_fields++;
    }
}

static void dims_fields(fz_case_t *c, fp_dims_t *d)
{
    field(c, &d->n, FIELD_DIM);
    field(c, &d->h, FIELD_DIM);
    field(c, &d->w, FIELD_DIM);
    field(c, &d->c, FIELD_DIM);
}

void *owned(fz_case_t *c, size_t bytes)
{
    uint8_t *p = malloc(bytes ? bytes : 1);
    size_t i;
    if (p == NULL) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    for (i = 0; i < bytes; ++i) {
        p[i] = (uint8_t)rnd();
    }
    if (c != NULL && c->n_owned < MAX_OWNED) {
        c->owned[c->n_owned++] = p;
    }
    return p;
}

void free_case(fz_case_t *c)
{
    int i;
    for (i = 0; i < c->n_owned; ++i) {
        free(c->owned[i]);
    }
}

size_t elsize(uint8_t dtype)
{
    return dtype == FP_DTYPE_S16 ? 2u : 1u;
}

static size_t count(const fp_dims_t *d)
{
    return (size_t)d->n * (size_t)d->h * (size_t)d->w * (size_t)d->c;
}

fp_dims_t rdims(int32_t n, int32_t h, int32_t w, int32_t c)
{
    fp_dims_t d;
    d.n = n;
    d.h = h;
    d.w = w;
    d.c = c;
    return d;
}

static fp_rq_mode_t rmode(fz_case_t *c, fp_rq_mode_t *m)
{
    static const uint8_t bits[] = {32, 31, 24, 16, 15, 8, 2};
    m->rounding = (uint8_t)rnd_in(0, 2);
    m->multiplier_bits = bits[rnd() % (sizeof bits)];
    m->acc_bits = 0;   /* the int32 accumulator; engine accumulators: tests/runtime/test_requant_engines.py */
    m->acc_wrap = 0;
    field(c, &m->rounding, FIELD_U8);
    field(c, &m->multiplier_bits, FIELD_U8);
    return *m;
}

static int32_t legal_shift(fp_rq_mode_t m)
{
    return m.rounding == FP_ROUND_SHIFT_ONLY ? rnd_in(-20, 8) : rnd_in(-20, (int32_t)m.multiplier_bits > 16 ? 10 : 5);
}

static int32_t legal_multiplier(fp_rq_mode_t m)
{
    return (int32_t)(rnd() % ((uint32_t)1 << (m.multiplier_bits - 1)));
}

static fp_scale_t rscale(fz_case_t *c, fp_scale_t *s, fp_rq_mode_t m)
{
    s->multiplier = legal_multiplier(m);
    s->shift = legal_shift(m);
    field(c, &s->multiplier, FIELD_ANY);
    field(c, &s->shift, FIELD_ANY);
    return *s;
}

static void rrequant(fz_case_t *c, fp_requant_t *rq, int32_t channels)
{
    int32_t *mult = owned(c, sizeof(int32_t) * (size_t)channels);
    int32_t *shift = owned(c, sizeof(int32_t) * (size_t)channels);
    int32_t i;
    fp_rq_mode_t m = rmode(c, &rq->mode);
    rq->n = rnd() % 2 ? 1 : channels;
    for (i = 0; i < channels; ++i) {
        mult[i] = legal_multiplier(m);
        shift[i] = legal_shift(m);
        field(c, &mult[i], FIELD_ANY);
        field(c, &shift[i], FIELD_ANY);
    }
    rq->multiplier = mult;
    rq->shift = shift;
    field(c, &rq->n, FIELD_DIM);
}

static void ract(fz_case_t *c, int32_t *act_min, int32_t *act_max, uint8_t dtype)
{
    int32_t lo = dtype == FP_DTYPE_S16 ? -32768 : -128;
    int32_t hi = dtype == FP_DTYPE_S16 ? 32767 : 127;
    *act_min = rnd_in(lo, lo + (hi - lo) / 3);
    *act_max = rnd_in(hi - (hi - lo) / 3, hi);
    field(c, act_min, FIELD_ANY);
    field(c, act_max, FIELD_ANY);
}

static int32_t roffset(fz_case_t *c, int32_t *off, uint8_t act)
{
    /* int8: mostly a zero point, sometimes the edges of the widest legal input
     * offset of the multiply-accumulate kernels (blocks of a single term) */
    static const int32_t wide[] = {-128, 128, 129, 255, -255, 16777088, -16777087, 1 << 20, -(1 << 20)};
    *off = act == FP_DTYPE_S16 ? 0
         : rnd() % 8 ? rnd_in(-128, 127) : wide[rnd() % (sizeof wide / sizeof wide[0])];
    field(c, off, FIELD_ANY);
    return *off;
}

/* ---- generators: a consistent small layer of each op -------------------- */

static uint8_t act_of(uint8_t datapath)
{
    return datapath == FP_DP_S16 ? FP_DTYPE_S16 : FP_DTYPE_S8;
}

static void gen_weights(fz_case_t *c, size_t n_weights, int32_t channels)
{
    size_t wbytes = c->layer.datapath == FP_DP_S4   ? (n_weights + 1) / 2
                  : c->layer.datapath == FP_DP_S2 ? (n_weights + 3) / 4
                  : c->layer.datapath == FP_DP_S1 ? (n_weights + 7) / 8
                                                  : n_weights;
    c->layer.weights = owned(c, wbytes);
    size_t bias_bytes = c->layer.datapath == FP_DP_S16 && c->variant != FZ_ACC32 ? 8u : 4u;
    c->layer.bias = rnd() % 8 ? owned(c, bias_bytes * (size_t)channels) : NULL;
}

static void gen_conv(fz_case_t *c)
{
    fp_conv2d_params_t *p = &c->layer.params.conv2d;
    uint8_t act = act_of(c->layer.datapath);
    /* one case in four: one group, channel counts under, at and over the
     * 16-lane vectors of the host _opt path (and several of them) */
    int wide = rnd() % 4 == 0;
    int32_t groups = wide ? 1 : rnd_in(1, 3);
    int32_t cg = wide ? rnd_in(1, 20) : rnd_in(1, 3);
    int32_t cout = wide ? rnd_in(1, 40) : groups * rnd_in(1, 3);
    p->input = rdims(rnd_in(1, 2), rnd_in(1, 6), rnd_in(1, 6), groups * cg);
    p->filter = rdims(cout, rnd_in(1, 3), rnd_in(1, 3), cg);
    p->output = rdims(p->input.n, rnd_in(1, 6), rnd_in(1, 6), cout);
    p->stride_h = rnd_in(1, 3);
    p->stride_w = rnd_in(1, 3);
    p->dilation_h = rnd_in(1, 3);
    p->dilation_w = rnd_in(1, 3);
    p->pad_top = rnd_in(0, 2);
    p->pad_left = rnd_in(0, 2);
    p->groups = groups;
    roffset(c, &p->input_offset, act);
    roffset(c, &p->output_offset, act);
    ract(c, &p->act_min, &p->act_max, act);
    rrequant(c, &p->requant, cout);
    dims_fields(c, &p->input);
    dims_fields(c, &p->filter);
    dims_fields(c, &p->output);
    field(c, &p->stride_h, FIELD_ANY);
    field(c, &p->stride_w, FIELD_ANY);
    field(c, &p->dilation_h, FIELD_ANY);
    field(c, &p->dilation_w, FIELD_ANY);
    field(c, &p->pad_top, FIELD_ANY);
    field(c, &p->pad_left, FIELD_ANY);
    field(c, &p->groups, FIELD_ANY);
    gen_weights(c, count(&p->filter), cout);
    c->n_in = 1;
    c->in_bytes[0] = count(&p->input) * elsize(act);
    c->out_bytes = count(&p->output) * elsize(act);
}

static void gen_transpose_conv(fz_case_t *c)
{
    fp_transpose_conv2d_params_t *p = &c->layer.params.transpose_conv2d;
    uint8_t act = act_of(c->layer.datapath);
    int32_t groups = rnd_in(1, 3);
    int32_t cg = rnd_in(1, 3);
    int32_t cout = groups * rnd_in(1, 3);
    p->input = rdims(rnd_in(1, 2), rnd_in(1, 4), rnd_in(1, 4), groups * cg);
    p->filter = rdims(cout, rnd_in(1, 3), rnd_in(1, 3), cg);
    p->output = rdims(p->input.n, rnd_in(1, 9), rnd_in(1, 9), cout);
    p->stride_h = rnd_in(1, 3);
    p->stride_w = rnd_in(1, 3);
    p->dilation_h = rnd_in(1, 2);
    p->dilation_w = rnd_in(1, 2);
    p->pad_top = rnd_in(0, 2);
    p->pad_left = rnd_in(0, 2);
    p->groups = groups;
    roffset(c, &p->input_offset, act);
    roffset(c, &p->output_offset, act);
    ract(c, &p->act_min, &p->act_max, act);
    rrequant(c, &p->requant, cout);
    dims_fields(c, &p->input);
    dims_fields(c, &p->filter);
    dims_fields(c, &p->output);
    field(c, &p->stride_h, FIELD_ANY);
    field(c, &p->stride_w, FIELD_ANY);
    field(c, &p->dilation_h, FIELD_ANY);
    field(c, &p->dilation_w, FIELD_ANY);
    field(c, &p->pad_top, FIELD_ANY);
    field(c, &p->pad_left, FIELD_ANY);
    field(c, &p->groups, FIELD_ANY);
    gen_weights(c, count(&p->filter), cout);
    c->n_in = 1;
    c->in_bytes[0] = count(&p->input) * elsize(act);
    c->out_bytes = count(&p->output) * elsize(act);
}

static void gen_depthwise(fz_case_t *c)
{
    fp_depthwise_conv2d_params_t *p = &c->layer.params.depthwise_conv2d;
    uint8_t act = act_of(c->layer.datapath);
    int32_t cin = rnd() % 4 == 0 ? rnd_in(1, 40) : rnd_in(1, 4); /* over the host path's 16 lanes too */
    int32_t mult = rnd_in(1, 3);
    p->input = rdims(rnd_in(1, 2), rnd_in(1, 6), rnd_in(1, 6), cin);
    p->filter = rdims(1, rnd_in(1, 3), rnd_in(1, 3), cin * mult);
    p->output = rdims(p->input.n, rnd_in(1, 6), rnd_in(1, 6), cin * mult);
    p->stride_h = rnd_in(1, 3);
    p->stride_w = rnd_in(1, 3);
    p->dilation_h = rnd_in(1, 2);
    p->dilation_w = rnd_in(1, 2);
    p->pad_top = rnd_in(0, 2);
    p->pad_left = rnd_in(0, 2);
    p->depth_multiplier = mult;
    roffset(c, &p->input_offset, act);
    roffset(c, &p->output_offset, act);
    ract(c, &p->act_min, &p->act_max, act);
    rrequant(c, &p->requant, cin * mult);
    dims_fields(c, &p->input);
    dims_fields(c, &p->filter);
    dims_fields(c, &p->output);
    field(c, &p->stride_h, FIELD_ANY);
    field(c, &p->dilation_w, FIELD_ANY);
    field(c, &p->pad_top, FIELD_ANY);
    field(c, &p->depth_multiplier, FIELD_DIM);
    gen_weights(c, count(&p->filter), cin * mult);
    c->n_in = 1;
    c->in_bytes[0] = count(&p->input) * elsize(act);
    c->out_bytes = count(&p->output) * elsize(act);
}

static void gen_fc(fz_case_t *c)
{
    fp_fully_connected_params_t *p = &c->layer.params.fully_connected;
    uint8_t act = act_of(c->layer.datapath);
    p->batches = rnd_in(1, 3);
    p->depth = rnd_in(1, 24);
    p->out_channels = rnd_in(1, 6);
    roffset(c, &p->input_offset, act);
    p->filter_offset = act == FP_DTYPE_S16 ? 0 : rnd_in(-3, 3);
    roffset(c, &p->output_offset, act);
    ract(c, &p->act_min, &p->act_max, act);
    rrequant(c, &p->requant, p->out_channels);
    field(c, &p->batches, FIELD_DIM);
    field(c, &p->depth, FIELD_DIM);
    field(c, &p->out_channels, FIELD_DIM);
    field(c, &p->filter_offset, FIELD_ANY);
    gen_weights(c, (size_t)p->depth * (size_t)p->out_channels, p->out_channels);
    c->n_in = 1;
    c->in_bytes[0] = (size_t)p->batches * (size_t)p->depth * elsize(act);
    c->out_bytes = (size_t)p->batches * (size_t)p->out_channels * elsize(act);
}

static fp_dims_t broadcast_input(const fp_dims_t *out)
{
    return rdims(rnd() % 3 ? out->n : 1, rnd() % 3 ? out->h : 1, rnd() % 3 ? out->w : 1, rnd() % 3 ? out->c : 1);
}

static void gen_binary(fz_case_t *c)
{
    uint8_t act = act_of(c->layer.datapath);
    fp_dims_t out = rdims(rnd_in(1, 2), rnd_in(1, 4), rnd_in(1, 4), rnd_in(1, 5));
    fp_dims_t in1 = broadcast_input(&out);
    fp_dims_t in2 = broadcast_input(&out);
    if (c->layer.op == FP_OP_ADD) {
        fp_add_params_t *p = &c->layer.params.add;
        fp_rq_mode_t m = rmode(c, &p->mode);
        p->input1 = in1;
        p->input2 = in2;
        p->output = out;
        roffset(c, &p->input1_offset, act);
        roffset(c, &p->input2_offset, act);
        roffset(c, &p->output_offset, act);
        p->left_shift = act == FP_DTYPE_S16 ? 15 : 20;
        field(c, &p->left_shift, FIELD_ANY);
        rscale(c, &p->input1_scale, m);
        rscale(c, &p->input2_scale, m);
        rscale(c, &p->output_scale, m);
        ract(c, &p->act_min, &p->act_max, act);
        p->subtract = (int32_t)(rnd() % 2);
        field(c, &p->subtract, FIELD_ANY);
        dims_fields(c, &p->input1);
        dims_fields(c, &p->input2);
        dims_fields(c, &p->output);
    } else {
        fp_mul_params_t *p = &c->layer.params.mul;
        fp_rq_mode_t m = rmode(c, &p->mode);
        p->input1 = in1;
        p->input2 = in2;
        p->output = out;
        roffset(c, &p->input1_offset, act);
        roffset(c, &p->input2_offset, act);
        roffset(c, &p->output_offset, act);
        rscale(c, &p->output_scale, m);
        ract(c, &p->act_min, &p->act_max, act);
        dims_fields(c, &p->input1);
        dims_fields(c, &p->input2);
        dims_fields(c, &p->output);
    }
    c->n_in = 2;
    c->in_bytes[0] = count(&in1) * elsize(act);
    c->in_bytes[1] = count(&in2) * elsize(act);
    c->out_bytes = count(&out) * elsize(act);
}

static void gen_pool(fz_case_t *c)
{
    fp_pool_params_t *p = &c->layer.params.pool;
    uint8_t act = act_of(c->layer.datapath);
    p->input = rdims(rnd_in(1, 2), rnd_in(1, 6), rnd_in(1, 6), rnd_in(1, 4));
    p->filter_h = rnd_in(1, 3);
    p->filter_w = rnd_in(1, 3);
    p->stride_h = rnd_in(1, 3);
    p->stride_w = rnd_in(1, 3);
    p->pad_top = rnd_in(0, p->filter_h - 1); /* every window keeps an input tap */
    p->pad_left = rnd_in(0, p->filter_w - 1);
    p->output = rdims(p->input.n, rnd_in(1, (p->input.h + p->pad_top - 1) / p->stride_h + 1),
                      rnd_in(1, (p->input.w + p->pad_left - 1) / p->stride_w + 1), p->input.c);
    ract(c, &p->act_min, &p->act_max, act);
    dims_fields(c, &p->input);
    dims_fields(c, &p->output);
    field(c, &p->filter_h, FIELD_ANY);
    field(c, &p->filter_w, FIELD_ANY);
    field(c, &p->stride_h, FIELD_ANY);
    field(c, &p->stride_w, FIELD_ANY);
    field(c, &p->pad_top, FIELD_ANY);
    field(c, &p->pad_left, FIELD_ANY);
    c->n_in = 1;
    c->in_bytes[0] = count(&p->input) * elsize(act);
    c->out_bytes = count(&p->output) * elsize(act);
}

static void gen_softmax(fz_case_t *c)
{
    fp_softmax_params_t *p = &c->layer.params.softmax;
    uint8_t act = act_of(c->layer.datapath);
    p->inner = rnd_in(1, 3);
    p->rows = p->inner * rnd_in(1, 3);
    p->depth = rnd_in(1, 12);
    p->input_multiplier = (int32_t)(rnd() >> 1);
    p->input_left_shift = rnd_in(0, 31);
    p->diff_min = -rnd_in(0, 1 << 20);
    p->exp_lut = act == FP_DTYPE_S16 ? owned(c, 513 * 2) : NULL;
    p->one_over_one_plus_x_lut = act == FP_DTYPE_S16 ? owned(c, 513 * 2) : NULL;
    field(c, &p->rows, FIELD_DIM);
    field(c, &p->depth, FIELD_DIM);
    field(c, &p->inner, FIELD_ANY);
    field(c, &p->input_multiplier, FIELD_ANY);
    field(c, &p->input_left_shift, FIELD_ANY);
    field(c, &p->diff_min, FIELD_ANY);
    if (act == FP_DTYPE_S16 && rnd() % 50 == 0) {
        p->exp_lut = NULL; /* hostile: missing table */
    }
    c->n_in = 1;
    c->in_bytes[0] = (size_t)p->rows * (size_t)p->depth * elsize(act);
    c->out_bytes = (size_t)p->rows * (size_t)p->depth * elsize(c->out_dtype);
}

static void gen_concat(fz_case_t *c)
{
    fp_concat_params_t *p = &c->layer.params.concat;
    uint8_t act = act_of(c->layer.datapath);
    fp_rq_mode_t m = rmode(c, &p->mode);
    int32_t i;
    int32_t total = 0;
    p->n_inputs = rnd_in(1, 8);
    p->outer = rnd_in(1, 3);
    p->inner = rnd_in(1, 3);
    for (i = 0; i < p->n_inputs; ++i) {
        p->axis_size[i] = rnd_in(1, 3);
        total += p->axis_size[i];
        roffset(c, &p->input_offset[i], act);
        rscale(c, &p->input_scale[i], m);
        field(c, &p->axis_size[i], FIELD_DIM);
        c->in_bytes[i] = (size_t)(p->outer * p->axis_size[i] * p->inner) * elsize(act);
    }
    roffset(c, &p->output_offset, act);
    field(c, &p->n_inputs, FIELD_COUNT);
    field(c, &p->outer, FIELD_DIM);
    field(c, &p->inner, FIELD_DIM);
    c->n_in = (uint32_t)p->n_inputs;
    c->out_bytes = (size_t)(p->outer * total * p->inner) * elsize(act);
}

static void gen_pad(fz_case_t *c)
{
    fp_pad_params_t *p = &c->layer.params.pad;
    uint8_t act = act_of(c->layer.datapath);
    int32_t k;
    p->input = rdims(rnd_in(1, 2), rnd_in(1, 4), rnd_in(1, 4), rnd_in(1, 3));
    for (k = 0; k < 4; ++k) {
        p->pad_before[k] = rnd_in(0, 2);
        field(c, &p->pad_before[k], FIELD_ANY);
    }
    p->output = rdims(p->input.n + p->pad_before[0] + rnd_in(0, 2), p->input.h + p->pad_before[1] + rnd_in(0, 2),
                      p->input.w + p->pad_before[2] + rnd_in(0, 2), p->input.c + p->pad_before[3] + rnd_in(0, 2));
    p->pad_value = act == FP_DTYPE_S16 ? 0 : rnd_in(-128, 127);
    field(c, &p->pad_value, FIELD_ANY);
    p->mode = rnd_in(0, 3);
    field(c, &p->mode, FIELD_ANY);
    dims_fields(c, &p->input);
    dims_fields(c, &p->output);
    c->n_in = 1;
    c->in_bytes[0] = count(&p->input) * elsize(act);
    c->out_bytes = count(&p->output) * elsize(act);
}

static void gen_transpose(fz_case_t *c)
{
    fp_transpose_params_t *p = &c->layer.params.transpose;
    uint8_t act = act_of(c->layer.datapath);
    int32_t k;
    p->input = rdims(rnd_in(1, 3), rnd_in(1, 4), rnd_in(1, 4), rnd_in(1, 5));
    for (k = 0; k < 4; ++k) {
        p->perm[k] = k;
    }
    for (k = 3; k > 0; --k) { /* Fisher-Yates */
        int32_t j = rnd_in(0, k);
        int32_t t = p->perm[k];
        p->perm[k] = p->perm[j];
        p->perm[j] = t;
    }
    for (k = 0; k < 4; ++k) {
        field(c, &p->perm[k], FIELD_ANY);
    }
    dims_fields(c, &p->input);
    c->n_in = 1;
    c->in_bytes[0] = count(&p->input) * elsize(act);
    c->out_bytes = c->in_bytes[0];
}

static int32_t slice_dim(fz_case_t *c, int32_t in, int32_t *begin, int32_t *stride)
{
    int32_t first = rnd_in(0, in - 1);
    int32_t step = rnd_in(1, 3) * (rnd() % 2 ? 1 : -1);
    int32_t room = step > 0 ? (in - 1 - first) / step : first / -step;
    *begin = first;
    *stride = step;
    field(c, begin, FIELD_ANY);
    field(c, stride, FIELD_ANY);
    return 1 + rnd_in(0, room);
}

static void gen_slice(fz_case_t *c)
{
    fp_slice_params_t *p = &c->layer.params.slice;
    uint8_t act = act_of(c->layer.datapath);
    p->input = rdims(rnd_in(1, 3), rnd_in(1, 5), rnd_in(1, 5), rnd_in(1, 5));
    p->output.n = slice_dim(c, p->input.n, &p->begin[0], &p->stride[0]);
    p->output.h = slice_dim(c, p->input.h, &p->begin[1], &p->stride[1]);
    p->output.w = slice_dim(c, p->input.w, &p->begin[2], &p->stride[2]);
    p->output.c = slice_dim(c, p->input.c, &p->begin[3], &p->stride[3]);
    dims_fields(c, &p->input);
    dims_fields(c, &p->output);
    c->n_in = 1;
    c->in_bytes[0] = count(&p->input) * elsize(act);
    c->out_bytes = count(&p->output) * elsize(act);
}

static void gen_resize(fz_case_t *c)
{
    fp_resize_params_t *p = &c->layer.params.resize;
    uint8_t act = act_of(c->layer.datapath);
    int32_t k;
    p->input = rdims(rnd_in(1, 2), rnd_in(1, 5), rnd_in(1, 5), rnd_in(1, 3));
    p->output = rdims(p->input.n, rnd_in(1, 9), rnd_in(1, 9), p->input.c);
    p->method = rnd_in(0, 1);
    p->coord = rnd_in(0, p->method ? 2 : 3);
    p->nearest_mode = rnd_in(0, 3);
    p->ratio_num[0] = p->input.h;
    p->ratio_den[0] = p->output.h;
    p->ratio_num[1] = p->input.w;
    p->ratio_den[1] = p->output.w;
    field(c, &p->method, FIELD_ANY);
    field(c, &p->coord, FIELD_ANY);
    field(c, &p->nearest_mode, FIELD_ANY);
    for (k = 0; k < 2; ++k) {
        field(c, &p->ratio_num[k], FIELD_ANY);
        field(c, &p->ratio_den[k], FIELD_ANY);
    }
    dims_fields(c, &p->input);
    dims_fields(c, &p->output);
    c->n_in = 1;
    c->in_bytes[0] = count(&p->input) * elsize(act);
    c->out_bytes = count(&p->output) * elsize(act);
}

static void gen_reduce(fz_case_t *c)
{
    fp_reduce_params_t *p = &c->layer.params.reduce;
    uint8_t act = act_of(c->layer.datapath);
    fp_rq_mode_t m = rmode(c, &p->mode);
    p->input = rdims(rnd_in(1, 2), rnd_in(1, 5), rnd_in(1, 5), rnd_in(1, 4));
    p->output = rdims(rnd() % 2 ? 1 : p->input.n, rnd() % 2 ? 1 : p->input.h, rnd() % 2 ? 1 : p->input.w,
                      rnd() % 2 ? 1 : p->input.c);
    p->kind = rnd() % 4 ? FP_REDUCE_SUM : FP_REDUCE_MAX;
    roffset(c, &p->input_offset, act);
    roffset(c, &p->output_offset, act);
    rscale(c, &p->scale, m);
    ract(c, &p->act_min, &p->act_max, act);
    dims_fields(c, &p->input);
    dims_fields(c, &p->output);
    field(c, &p->kind, FIELD_ANY);
    c->n_in = 1;
    c->in_bytes[0] = count(&p->input) * elsize(act);
    c->out_bytes = count(&p->output) * elsize(act);
}

static void gen_unary_scaled(fz_case_t *c)
{
    uint8_t in_dt = c->layer.op == FP_OP_REQUANTIZE
                  ? (c->layer.datapath == FP_DP_S16 ? FP_DTYPE_S16 : FP_DTYPE_S8) : act_of(c->layer.datapath);
    uint8_t out_dt = c->layer.op == FP_OP_REQUANTIZE ? c->layer.out_dtype : in_dt;
    int32_t size = rnd_in(1, 64);
    if (c->layer.op == FP_OP_LEAKY_RELU) {
        /* one case in four over the size from which fp_leaky_relu_s8_opt uses its table */
        size = rnd() % 4 == 0 ? rnd_in(500, 1100) : size;
        fp_leaky_relu_params_t *p = &c->layer.params.leaky_relu;
        fp_rq_mode_t m = rmode(c, &p->mode);
        p->size = size;
        roffset(c, &p->input_offset, in_dt);
        roffset(c, &p->output_offset, out_dt);
        rscale(c, &p->identity_scale, m);
        rscale(c, &p->alpha_scale, m);
        ract(c, &p->act_min, &p->act_max, out_dt);
        field(c, &p->size, FIELD_DIM);
    } else {
        fp_requantize_params_t *p = &c->layer.params.requantize;
        fp_rq_mode_t m = rmode(c, &p->mode);
        p->size = size;
        roffset(c, &p->input_offset, in_dt);
        roffset(c, &p->output_offset, out_dt);
        rscale(c, &p->scale, m);
        ract(c, &p->act_min, &p->act_max, out_dt);
        field(c, &p->size, FIELD_DIM);
    }
    c->n_in = 1;
    c->in_bytes[0] = (size_t)size * elsize(in_dt);
    c->in_dtype[0] = in_dt;
    c->out_bytes = (size_t)size * elsize(out_dt);
    c->out_dtype = out_dt;
}

static void gen_lut(fz_case_t *c)
{
    fp_lut_params_t *p = &c->layer.params.lut;
    uint8_t act = act_of(c->layer.datapath);
    uint8_t *table = owned(c, act == FP_DTYPE_S16 ? 513 * 2 : 256);
    size_t i;
    for (i = 0; i < (act == FP_DTYPE_S16 ? 513u * 2u : 256u); ++i) {
        table[i] = (uint8_t)rnd(); /* any table values are legal */
    }
    p->size = rnd_in(1, 64);
    p->table = table;
    field(c, &p->size, FIELD_DIM);
    if (rnd() % 50 == 0) {
        p->table = NULL; /* hostile: missing table */
    }
    c->n_in = 1;
    c->in_bytes[0] = (size_t)p->size * elsize(act);
    c->out_bytes = (size_t)p->size * elsize(act);
}

static void gen_prelu(fz_case_t *c)
{
    fp_prelu_params_t *p = &c->layer.params.prelu;
    uint8_t act = act_of(c->layer.datapath);
    fp_rq_mode_t m = rmode(c, &p->mode);
    int8_t *alpha;
    int32_t i;
    p->channels = rnd_in(1, 6);
    p->size = p->channels * rnd_in(1, 8);
    alpha = owned(c, (size_t)p->channels);
    for (i = 0; i < p->channels; ++i) {
        alpha[i] = (int8_t)rnd_in(-128, 127);
    }
    p->alpha = alpha;
    roffset(c, &p->input_offset, act);
    p->alpha_offset = rnd_in(-128, 127);
    roffset(c, &p->output_offset, act);
    rscale(c, &p->identity_scale, m);
    rscale(c, &p->alpha_scale, m);
    ract(c, &p->act_min, &p->act_max, act);
    field(c, &p->size, FIELD_DIM);
    field(c, &p->channels, FIELD_DIM);
    field(c, &p->alpha_offset, FIELD_ANY);
    if (rnd() % 50 == 0) {
        p->alpha = NULL; /* hostile: missing slope */
    }
    c->n_in = 1;
    c->in_bytes[0] = (size_t)p->size * elsize(act);
    c->out_bytes = (size_t)p->size * elsize(act);
}

static void gen_minmax(fz_case_t *c)
{
    fp_minmax_params_t *p = &c->layer.params.minmax;
    uint8_t act = act_of(c->layer.datapath);
    fp_rq_mode_t m = rmode(c, &p->mode);
    p->output = rdims(rnd_in(1, 2), rnd_in(1, 4), rnd_in(1, 4), rnd_in(1, 5));
    p->input1 = broadcast_input(&p->output);
    p->input2 = broadcast_input(&p->output);
    roffset(c, &p->input1_offset, act);
    roffset(c, &p->input2_offset, act);
    roffset(c, &p->output_offset, act);
    rscale(c, &p->input1_scale, m);
    rscale(c, &p->input2_scale, m);
    ract(c, &p->act_min, &p->act_max, act);
    c->n_in = 2;
    c->in_bytes[0] = count(&p->input1) * elsize(act);
    c->in_bytes[1] = count(&p->input2) * elsize(act);
    c->out_bytes = count(&p->output) * elsize(act);
    dims_fields(c, &p->input1);
    dims_fields(c, &p->input2);
    dims_fields(c, &p->output);
}

/* 513 random int16 entries; rarely NULL (hostile: a missing table). */
static const int16_t *rtable(fz_case_t *c)
{
    return rnd() % 50 == 0 ? NULL : owned(c, 513 * sizeof(int16_t));
}

/* The fields lstm and gru share (fp_lstm_params_t / fp_gru_params_t have them
 * under the same names): sizes, offsets, per-gate scales, flags, buffers. */
#define FZ_RECURRENT_COMMON(c, p, gates)                                                         \
    do {                                                                                          \
        fp_rq_mode_t m = rmode((c), &(p)->mode);                                                  \
        int32_t g;                                                                                \
        (p)->seq_len = rnd_in(1, 12);                                                             \
        (p)->input_size = rnd_in(1, 6);                                                           \
        (p)->hidden_size = rnd_in(1, 6);                                                          \
        roffset((c), &(p)->input_offset, FP_DTYPE_S8);                                            \
        roffset((c), &(p)->hidden_offset, FP_DTYPE_S8);                                           \
        roffset((c), &(p)->output_offset, FP_DTYPE_S8);                                           \
        for (g = 0; g < (gates); ++g) {                                                           \
            rscale((c), &(p)->input_scale[g], m);                                                 \
            rscale((c), &(p)->recurrent_scale[g], m);                                             \
        }                                                                                         \
        rscale((c), &(p)->hidden_scale, m);                                                       \
        (p)->output_sequence = rnd_in(0, 1);                                                      \
        (p)->reverse = rnd_in(0, 1);                                                              \
        field((c), &(p)->seq_len, FIELD_DIM);                                                     \
        field((c), &(p)->input_size, FIELD_DIM);                                                  \
        field((c), &(p)->hidden_size, FIELD_DIM);                                                 \
        /* output_sequence is not mutated: it sizes the output buffer (as a dim would) */         \
        field((c), &(p)->reverse, FIELD_ANY);                                                     \
        (p)->sigmoid_lut = rtable(c);                                                             \
        (p)->tanh_lut = rtable(c);                                                                \
        (c)->layer.weights = owned((c), (size_t)(gates) * (size_t)(p)->hidden_size                 \
                                            * (size_t)((p)->input_size + (p)->hidden_size));      \
        (c)->layer.bias = owned((c), sizeof(int32_t) * 2u * (size_t)(gates) * (size_t)(p)->hidden_size); \
        (c)->n_in = 1;                                                                            \
        (c)->in_bytes[0] = (size_t)(p)->seq_len * (size_t)(p)->input_size;                        \
        (c)->out_bytes = (size_t)((p)->output_sequence ? (p)->seq_len : 1) * (size_t)(p)->hidden_size; \
    } while (0)

static void gen_lstm(fz_case_t *c)
{
    fp_lstm_params_t *p = &c->layer.params.lstm;
    FZ_RECURRENT_COMMON(c, p, 4);
    p->cell_frac_bits = rnd_in(0, 15);
    p->cell_clip = rnd() % 4 ? 0 : rnd_in(1, 32767);
    p->cell_tanh_lut = rtable(c);
    field(c, &p->cell_frac_bits, FIELD_ANY);
    field(c, &p->cell_clip, FIELD_ANY);
    /* streaming: an exactly sized persistent state (cell int16 [H], h int8 [H]) of random bytes */
    p->state = rnd() % 3 ? NULL : owned(c, 3u * (size_t)p->hidden_size);
}

static void gen_gru(fz_case_t *c)
{
    fp_gru_params_t *p = &c->layer.params.gru;
    FZ_RECURRENT_COMMON(c, p, 3);
    p->state = rnd() % 3 ? NULL : owned(c, (size_t)p->hidden_size); /* streaming: h int8 [H] */
}

/* Batched matmul: A [b0, b1, rows, depth] row-major; B [b0, b1, depth, cols], stored
 * transposed ([.., cols, depth]: a folded Transpose) or shared by every batch (stride 0);
 * the tensor sizes are exactly the buffers, so a hostile stride must be refused. */
static void gen_batch_matmul(fz_case_t *c)
{
    fp_batch_matmul_params_t *p = &c->layer.params.batch_matmul;
    uint8_t act = act_of(c->layer.datapath);
    fp_rq_mode_t m = rmode(c, &p->mode);
    int transposed = (int)(rnd() % 2);
    int shared = rnd() % 3 == 0;
    int32_t b0 = rnd_in(1, 2);
    int32_t b1 = rnd_in(1, 3);
    int32_t bmat;
    int i;
    p->batch[0] = b0;
    p->batch[1] = b1;
    p->rows = rnd_in(1, 4);
    p->depth = rnd_in(1, 6);
    p->cols = rnd_in(1, 4);
    bmat = p->depth * p->cols;
    p->input1_stride[3] = 1;
    p->input1_stride[2] = p->depth;
    p->input1_stride[1] = p->rows * p->depth;
    p->input1_stride[0] = b1 * p->rows * p->depth;
    p->input2_stride[2] = transposed ? 1 : p->cols;
    p->input2_stride[3] = transposed ? p->depth : 1;
    p->input2_stride[1] = shared ? 0 : bmat;
    p->input2_stride[0] = shared ? 0 : b1 * bmat;
    p->output_stride[3] = 1;
    p->output_stride[2] = p->cols;
    p->output_stride[1] = p->rows * p->cols;
    p->output_stride[0] = b1 * p->rows * p->cols;
    p->input1_size = b0 * b1 * p->rows * p->depth;
    p->input2_size = shared ? bmat : b0 * b1 * bmat;
    p->output_size = b0 * b1 * p->rows * p->cols;
    roffset(c, &p->input1_offset, act);
    roffset(c, &p->input2_offset, act);
    roffset(c, &p->output_offset, act);
    rscale(c, &p->output_scale, m);
    ract(c, &p->act_min, &p->act_max, act);
    field(c, &p->batch[0], FIELD_DIM);
    field(c, &p->batch[1], FIELD_DIM);
    field(c, &p->rows, FIELD_DIM);
    field(c, &p->depth, FIELD_DIM);
    field(c, &p->cols, FIELD_DIM);
    field(c, &p->input1_size, FIELD_DIM);
    field(c, &p->input2_size, FIELD_DIM);
    field(c, &p->output_size, FIELD_DIM);
    for (i = 0; i < 4; ++i) {
        field(c, &p->input1_stride[i], FIELD_ANY);
        field(c, &p->input2_stride[i], FIELD_ANY);
        field(c, &p->output_stride[i], FIELD_ANY);
    }
    c->n_in = 2;
    c->in_bytes[0] = (size_t)p->input1_size * elsize(act);
    c->in_bytes[1] = (size_t)p->input2_size * elsize(act);
    c->out_bytes = (size_t)p->output_size * elsize(act);
}

/* Layer normalization over [outer, depth, inner]; gamma int16 and beta int64 (mostly in
 * the legal +-2^46, now and then anywhere) of exactly depth entries. */
static void gen_layer_norm(fz_case_t *c)
{
    fp_layer_norm_params_t *p = &c->layer.params.layer_norm;
    uint8_t act = act_of(c->layer.datapath);
    fp_rq_mode_t m = rmode(c, &p->mode);
    int64_t *beta;
    int32_t i;
    p->inner = rnd_in(1, 3);
    p->rows = p->inner * rnd_in(1, 3);
    p->depth = rnd_in(1, 12);
    roffset(c, &p->input_offset, act);
    roffset(c, &p->output_offset, act);
    p->eps_term = rnd() % 8 ? (int64_t)rnd_in(0, 1 << 30) << rnd_in(0, 30) : (int64_t)hostile_i32() * ((int64_t)1 << 31);
    rscale(c, &p->output_scale, m);
    ract(c, &p->act_min, &p->act_max, act);
    p->gamma = owned(c, sizeof(int16_t) * (size_t)p->depth);
    beta = owned(c, sizeof(int64_t) * (size_t)p->depth);
    for (i = 0; i < p->depth; ++i) {
        beta[i] = (int64_t)(rnd() % 16 ? rnd_in(-(1 << 29), 1 << 29) : hostile_i32()) * ((int64_t)1 << rnd_in(0, 17));
    }
    p->beta = beta;
    if (rnd() % 50 == 0) {
        p->gamma = NULL; /* hostile: a missing table */
    }
    field(c, &p->rows, FIELD_DIM);
    field(c, &p->depth, FIELD_DIM);
    field(c, &p->inner, FIELD_ANY);
    c->n_in = 1;
    c->in_bytes[0] = (size_t)p->rows * (size_t)p->depth * elsize(act);
    c->out_bytes = c->in_bytes[0];
}

void generate(fz_case_t *c, const fz_kernel_t *k)
{
    uint32_t i;
    memset(c, 0, sizeof *c);
    c->layer.op = k->op;
    c->layer.datapath = k->datapath;
    c->layer.out_dtype = k->out_dtype;
    c->variant = k->variant;
    c->out_dtype = k->variant == FZ_S8_S16 ? FP_DTYPE_S16 : act_of(k->datapath);
    for (i = 0; i < 8; ++i) {
        c->in_dtype[i] = act_of(k->datapath);
    }
    switch (k->op) {
    case FP_OP_CONV2D: gen_conv(c); break;
    case FP_OP_DEPTHWISE_CONV2D: gen_depthwise(c); break;
    case FP_OP_FULLY_CONNECTED: gen_fc(c); break;
    case FP_OP_ADD:
    case FP_OP_MUL: gen_binary(c); break;
    case FP_OP_MAX_POOL:
    case FP_OP_AVG_POOL: gen_pool(c); break;
    case FP_OP_SOFTMAX: gen_softmax(c); break;
    case FP_OP_CONCAT: gen_concat(c); break;
    case FP_OP_PAD: gen_pad(c); break;
    case FP_OP_LUT: gen_lut(c); break;
    case FP_OP_PRELU: gen_prelu(c); break;
    case FP_OP_MINIMUM:
    case FP_OP_MAXIMUM: gen_minmax(c); break;
    case FP_OP_TRANSPOSE: gen_transpose(c); break;
    case FP_OP_SLICE: gen_slice(c); break;
    case FP_OP_RESIZE: gen_resize(c); break;
    case FP_OP_REDUCE: gen_reduce(c); break;
    case FP_OP_TRANSPOSE_CONV2D: gen_transpose_conv(c); break;
    case FP_OP_LSTM: gen_lstm(c); break;
    case FP_OP_GRU: gen_gru(c); break;
    case FP_OP_BATCH_MATMUL: gen_batch_matmul(c); break;
    case FP_OP_LAYER_NORM: gen_layer_norm(c); break;
    default: gen_unary_scaled(c); break;
    }
    c->layer.n_inputs = (uint8_t)c->n_in;
}

/* Overwrite a few registered fields with extreme values (see fuzz_case.h). */
int mutate(fz_case_t *c)
{
    int n = 1 + (int)(rnd() % 3);
    int bad_dim = 0;
    int count_changed = 0;
    while (n-- > 0 && c->n_fields > 0) {
        field_t *f = &c->fields[rnd() % (uint32_t)c->n_fields];
        if (f->kind == FIELD_U8) {
            *(uint8_t *)f->ptr = (uint8_t)(rnd() % 3 ? rnd() : (rnd() % 2 ? 0 : 33));
        } else if (f->kind == FIELD_ANY || f->kind == FIELD_COUNT) {
            *(int32_t *)f->ptr = hostile_i32();
            count_changed |= f->kind == FIELD_COUNT;
        } else {
            int32_t *d = f->ptr;
            if (rnd() % 2) {
                int32_t v = hostile_i32();
                *d = v > 0 ? -v : v; /* zero or negative */
                bad_dim = 1;
            } else if (*d > 1) {
                *d = rnd_in(1, *d - 1); /* smaller: still inside the buffers */
            }
        }
    }
    return bad_dim && !count_changed;
}
