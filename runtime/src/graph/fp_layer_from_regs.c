/*
 * fp_layer_from_regs - the layer an engine runs, decoded from its register file.
 *
 * The firmware's command-stream player replays each layer's register writes into a register
 * file in RAM (a model of the engine's registers); the kernel then runs on what those registers
 * say, so a command stream that leaves a register stale (an elision bug, a dropped write) shows
 * in the results, not only in a comparison of register bytes. Decoded: zero points, clamp,
 * weight / bias / multiplier / shift tables and the engine's requantizer mode, and the geometry
 * (IN_/OUT_ h, w, c, K_, STRIDE_, DILATION_, PAD_TOP / PAD_LEFT) of conv2d, depthwise and
 * transpose conv2d and max / avg pool, whose params hold those very quantities (codegen's
 * regvalues.py reads the registers from the same plan tensor shapes and params). The layer
 * struct supplies what the register map does not carry (batch, the filter's output / input
 * channels, per-tensor scales of elementwise ops, tensor indices) and the geometry of every
 * other op (their params hold sizes / counts, not these registers' quantities).
 */
#include <string.h>

#include "fp_runtime.h"

/* Blob tables start at multiples of 8 (codegen CONST_ALIGN): any element type is aligned. */
#define FP_BLOB_ALIGN 8u

static uint32_t fp_reg_mask(uint8_t width)
{
    return width >= 32u ? 0xFFFFFFFFu : ((1u << width) - 1u);
}

/* The register's value: its low `width` bits, sign-extended for a signed register. */
static int32_t fp_reg_value(const fp_regmap_t *map, const uint32_t *regs, fp_reg_field_t field, int32_t keep)
{
    uint32_t mask;
    uint32_t w;
    uint32_t magnitude;
    if (map->reg[field] < 0) {
        return keep;
    }
    mask = fp_reg_mask(map->width[field]);
    w = regs[map->reg[field]] & mask;
    if (!map->is_signed[field] || map->width[field] == 0u || ((w >> (map->width[field] - 1u)) & 1u) == 0u) {
        return (int32_t)(w & 0x7FFFFFFFu);
    }
    magnitude = (~w & mask) + 1u; /* 2^width - w, in 1..2^31 */
    return magnitude == 0x80000000u ? INT32_MIN : -(int32_t)magnitude;
}

/* A table register: NULL for offset 0, else a pointer into the blob; 0 if out of range. */
static int fp_reg_table(const fp_regmap_t *map, const uint32_t *regs, fp_reg_field_t field, const uint8_t *blob,
                        uint32_t blob_size, const void **table)
{
    uint32_t offset;
    if (map->reg[field] < 0) {
        return 1; /* the map has no such register: the layer's own pointer stays */
    }
    offset = regs[map->reg[field]] & fp_reg_mask(map->width[field]);
    if (offset == 0u) {
        *table = NULL;
        return 1;
    }
    if (blob == NULL || offset >= blob_size || (offset % FP_BLOB_ALIGN) != 0u) {
        return 0;
    }
    *table = blob + offset;
    return 1;
}

/* Zero points and clamp of the ops whose struct carries them. */
static void fp_apply_offsets(const fp_regmap_t *map, const uint32_t *regs, fp_layer_t *l)
{
    fp_layer_params_t *p = &l->params;
#define FP_IN(x) ((x) = -fp_reg_value(map, regs, FP_REG_IN_ZP, -(x)))
#define FP_IN2(x) ((x) = -fp_reg_value(map, regs, FP_REG_IN2_ZP, -(x)))
#define FP_OUT(x) ((x) = fp_reg_value(map, regs, FP_REG_OUT_ZP, (x)))
#define FP_CLAMP(s) ((s).act_min = fp_reg_value(map, regs, FP_REG_ACT_MIN, (s).act_min), \
                     (s).act_max = fp_reg_value(map, regs, FP_REG_ACT_MAX, (s).act_max))
    switch (l->op) {
    case FP_OP_CONV2D: FP_IN(p->conv2d.input_offset); FP_OUT(p->conv2d.output_offset); FP_CLAMP(p->conv2d); break;
    case FP_OP_DEPTHWISE_CONV2D:
        FP_IN(p->depthwise_conv2d.input_offset);
        FP_OUT(p->depthwise_conv2d.output_offset);
        FP_CLAMP(p->depthwise_conv2d);
        break;
    case FP_OP_TRANSPOSE_CONV2D:
        FP_IN(p->transpose_conv2d.input_offset);
        FP_OUT(p->transpose_conv2d.output_offset);
        FP_CLAMP(p->transpose_conv2d);
        break;
    case FP_OP_FULLY_CONNECTED:
        FP_IN(p->fully_connected.input_offset);
        FP_OUT(p->fully_connected.output_offset);
        p->fully_connected.filter_offset = -fp_reg_value(map, regs, FP_REG_W_ZP, -p->fully_connected.filter_offset);
        FP_CLAMP(p->fully_connected);
        break;
    case FP_OP_ADD: FP_IN(p->add.input1_offset); FP_IN2(p->add.input2_offset); FP_OUT(p->add.output_offset);
        FP_CLAMP(p->add); break;
    case FP_OP_MUL: FP_IN(p->mul.input1_offset); FP_IN2(p->mul.input2_offset); FP_OUT(p->mul.output_offset);
        FP_CLAMP(p->mul); break;
    case FP_OP_MINIMUM:
    case FP_OP_MAXIMUM: FP_IN(p->minmax.input1_offset); FP_IN2(p->minmax.input2_offset);
        FP_OUT(p->minmax.output_offset); FP_CLAMP(p->minmax); break;
    case FP_OP_MAX_POOL:
    case FP_OP_AVG_POOL: FP_CLAMP(p->pool); break;
    case FP_OP_CONCAT: FP_IN(p->concat.input_offset[0]); FP_OUT(p->concat.output_offset); break;
    case FP_OP_REQUANTIZE: FP_IN(p->requantize.input_offset); FP_OUT(p->requantize.output_offset);
        FP_CLAMP(p->requantize); break;
    case FP_OP_LEAKY_RELU: FP_IN(p->leaky_relu.input_offset); FP_OUT(p->leaky_relu.output_offset);
        FP_CLAMP(p->leaky_relu); break;
    case FP_OP_PRELU: FP_IN(p->prelu.input_offset); FP_OUT(p->prelu.output_offset); FP_CLAMP(p->prelu); break;
    case FP_OP_REDUCE: FP_IN(p->reduce.input_offset); FP_OUT(p->reduce.output_offset); FP_CLAMP(p->reduce); break;
    default: break;
    }
#undef FP_IN
#undef FP_IN2
#undef FP_OUT
#undef FP_CLAMP
}

/* Pointers to the geometry fields of one params struct (NULL: the struct has no such field). */
typedef struct {
    fp_dims_t *input;
    fp_dims_t *output;
    int32_t *field[8]; /* k_h, k_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left */
    const fp_dims_t *own_filter; /* the layer's filter (the weight table's size), NULL for pools */
} fp_geom_ref_t;

#define FP_GEOM_REF(p, kh, kw, dh, dw, f) { &(p).input, &(p).output, \
    { (kh), (kw), &(p).stride_h, &(p).stride_w, (dh), (dw), &(p).pad_top, &(p).pad_left }, (f) }

/* The geometry fields of the ops whose params mean what the registers mean; 0 for other ops. */
static int fp_geom_ref(fp_layer_t *l, const fp_layer_t *own, fp_geom_ref_t *g)
{
    fp_layer_params_t *p = &l->params;
    switch (l->op) {
    case FP_OP_CONV2D: {
        fp_conv2d_params_t *c = &p->conv2d;
        const fp_geom_ref_t r = FP_GEOM_REF(*c, &c->filter.h, &c->filter.w, &c->dilation_h, &c->dilation_w,
                                            &own->params.conv2d.filter);
        *g = r;
        return 1;
    }
    case FP_OP_DEPTHWISE_CONV2D: {
        fp_depthwise_conv2d_params_t *c = &p->depthwise_conv2d;
        const fp_geom_ref_t r = FP_GEOM_REF(*c, &c->filter.h, &c->filter.w, &c->dilation_h, &c->dilation_w,
                                            &own->params.depthwise_conv2d.filter);
        *g = r;
        return 1;
    }
    case FP_OP_TRANSPOSE_CONV2D: {
        fp_transpose_conv2d_params_t *c = &p->transpose_conv2d;
        const fp_geom_ref_t r = FP_GEOM_REF(*c, &c->filter.h, &c->filter.w, &c->dilation_h, &c->dilation_w,
                                            &own->params.transpose_conv2d.filter);
        *g = r;
        return 1;
    }
    case FP_OP_MAX_POOL:
    case FP_OP_AVG_POOL: {
        fp_pool_params_t *c = &p->pool;
        const fp_geom_ref_t r = FP_GEOM_REF(*c, &c->filter_h, &c->filter_w, NULL, NULL, NULL);
        *g = r;
        return 1;
    }
    default: return 0;
    }
}

/* Input / output h, w, c and the window registers, into the fields `g` points at. 0 when the
 * decoded filter window has more taps than the layer's own: the kernel cannot know the weight
 * table's size, so a larger window would read past it (every other geometry the kernel checks
 * itself, FP_ERR_ARG, or the executor against the arena). */
static int fp_apply_geometry(const fp_regmap_t *map, const uint32_t *regs, const fp_layer_t *own, fp_layer_t *l)
{
    static const fp_reg_field_t window[8] = {FP_REG_K_H, FP_REG_K_W, FP_REG_STRIDE_H, FP_REG_STRIDE_W,
                                             FP_REG_DILATION_H, FP_REG_DILATION_W, FP_REG_PAD_TOP,
                                             FP_REG_PAD_LEFT};
    fp_geom_ref_t g;
    uint32_t i;
    if (!fp_geom_ref(l, own, &g)) {
        return 1;
    }
    g.input->h = fp_reg_value(map, regs, FP_REG_IN_H, g.input->h);
    g.input->w = fp_reg_value(map, regs, FP_REG_IN_W, g.input->w);
    g.input->c = fp_reg_value(map, regs, FP_REG_IN_C, g.input->c);
    g.output->h = fp_reg_value(map, regs, FP_REG_OUT_H, g.output->h);
    g.output->w = fp_reg_value(map, regs, FP_REG_OUT_W, g.output->w);
    g.output->c = fp_reg_value(map, regs, FP_REG_OUT_C, g.output->c);
    for (i = 0u; i < 8u; ++i) {
        if (g.field[i] != NULL) {
            *g.field[i] = fp_reg_value(map, regs, window[i], *g.field[i]);
        }
    }
    /* int64: both sides are products of two int32 */
    return g.own_filter == NULL || *g.field[0] < 1 || *g.field[1] < 1
        || (int64_t)*g.field[0] * *g.field[1] <= (int64_t)g.own_filter->h * g.own_filter->w;
}

/* The requantizer of the ops that have one: the engine's mode, the blob's scale tables. */
static int fp_apply_requant(const fp_regmap_t *map, const uint32_t *regs, const uint8_t *blob, uint32_t blob_size,
                            fp_rq_mode_t mode, fp_layer_t *l)
{
    fp_layer_params_t *p = &l->params;
    fp_requant_t *rq = NULL;
    const void *mult;
    const void *shift;
    switch (l->op) {
    case FP_OP_CONV2D: rq = &p->conv2d.requant; break;
    case FP_OP_DEPTHWISE_CONV2D: rq = &p->depthwise_conv2d.requant; break;
    case FP_OP_TRANSPOSE_CONV2D: rq = &p->transpose_conv2d.requant; break;
    case FP_OP_FULLY_CONNECTED: rq = &p->fully_connected.requant; break;
    case FP_OP_ADD: p->add.mode = mode; return 1;
    case FP_OP_MUL: p->mul.mode = mode; return 1;
    case FP_OP_MINIMUM:
    case FP_OP_MAXIMUM: p->minmax.mode = mode; return 1;
    case FP_OP_CONCAT: p->concat.mode = mode; return 1;
    case FP_OP_REQUANTIZE: p->requantize.mode = mode; return 1;
    case FP_OP_LEAKY_RELU: p->leaky_relu.mode = mode; return 1;
    case FP_OP_PRELU: p->prelu.mode = mode; return 1;
    case FP_OP_REDUCE: p->reduce.mode = mode; return 1;
    default: return 1;
    }
    mult = rq->multiplier;
    shift = rq->shift;
    if (!fp_reg_table(map, regs, FP_REG_MULT_ADDR, blob, blob_size, &mult)
        || !fp_reg_table(map, regs, FP_REG_SHIFT_ADDR, blob, blob_size, &shift)) {
        return 0;
    }
    rq->multiplier = (const int32_t *)mult;
    rq->shift = (const int32_t *)shift;
    rq->mode = mode;
    return 1;
}

fp_status_t fp_layer_from_regs(const fp_layer_t *layer, const uint32_t *regs, const fp_regmap_t *map,
                               const uint8_t *blob, uint32_t blob_size, fp_layer_t *out)
{
    fp_layer_t l;
    int32_t engine;
    uint32_t f;
    if (layer == NULL || regs == NULL || map == NULL || out == NULL || map->engine_modes == NULL) {
        return FP_ERR_ARG;
    }
    for (f = 0u; f < sizeof map->reg / sizeof map->reg[0]; ++f) {
        if (map->reg[f] >= 0 && ((uint32_t)map->reg[f] >= map->n_regs || map->width[f] > 32u)) {
            return FP_ERR_ARG;
        }
    }
    memcpy(&l, layer, sizeof l);
    if (fp_reg_value(map, regs, FP_REG_OP, layer->op) != (int32_t)layer->op
        || fp_reg_value(map, regs, FP_REG_DATAPATH, layer->datapath) != (int32_t)layer->datapath) {
        return FP_ERR_ARG;
    }
    engine = fp_reg_value(map, regs, FP_REG_ENGINE, 0);
    if (engine < 0 || (uint32_t)engine >= map->n_engines
        || !fp_reg_table(map, regs, FP_REG_W_ADDR, blob, blob_size, &l.weights)
        || !fp_reg_table(map, regs, FP_REG_BIAS_ADDR, blob, blob_size, &l.bias)
        || !fp_apply_requant(map, regs, blob, blob_size, map->engine_modes[engine], &l)) {
        return FP_ERR_ARG;
    }
    if (!fp_apply_geometry(map, regs, layer, &l)) {
        return FP_ERR_ARG;
    }
    fp_apply_offsets(map, regs, &l);
    memcpy(out, &l, sizeof l);
    return FP_OK;
}
