/*
 * fp_reduce.h - validation and the loop shared by fp_reduce_s8 / fp_reduce_s16.
 *
 * Both datapaths sum in int64 (exact: at most 2^31 terms of magnitude
 * < 2^32), saturate the sum to int32 and requantize it with the 32-bit
 * primitive, as the other activation kernels do (fp_misc_check.h).
 */
#ifndef FP_REDUCE_H
#define FP_REDUCE_H

#include "fp_types.h"
#include "fp_requant.h"
#include "fp_misc_check.h"

/* 1 when every output dim equals its input dim or is 1 (a reduced axis). */
static inline int fp_reduce_dims_ok(const fp_dims_t *in, const fp_dims_t *out)
{
    return (out->n == in->n || out->n == 1) && (out->h == in->h || out->h == 1)
        && (out->w == in->w || out->w == 1) && (out->c == in->c || out->c == 1);
}

static inline int fp_reduce_params_valid(const fp_reduce_params_t *p, int32_t lo, int32_t hi)
{
    if (fp_dims_count(&p->input) == 0 || fp_dims_count(&p->output) == 0
        || !fp_reduce_dims_ok(&p->input, &p->output) || !fp_act_valid(p->act_min, p->act_max, lo, hi)) {
        return 0;
    }
    if (p->kind == FP_REDUCE_MAX) {
        return 1;
    }
    return p->kind == FP_REDUCE_SUM && fp_mode_valid(p->mode) && fp_scale32_valid(p->scale, p->mode)
        && fp_input_offset_valid(p->input_offset, lo) && fp_output_offset_valid(p->output_offset, lo);
}

/* Extent of the window along one axis: the whole input axis when reduced. */
static inline int32_t fp_reduce_extent(int32_t in_dim, int32_t out_dim)
{
    return out_dim == in_dim ? 1 : in_dim;
}

/* The reduce window: extents e[] along N, H, W, C (1 on kept axes) and the
 * input strides st[] of N, H, W (C is contiguous). */
typedef struct {
    int32_t e[4];
    int32_t st[3];
} fp_reduce_geom_t;

static inline fp_reduce_geom_t fp_reduce_geom(const fp_reduce_params_t *p)
{
    fp_reduce_geom_t g;
    g.e[0] = fp_reduce_extent(p->input.n, p->output.n);
    g.e[1] = fp_reduce_extent(p->input.h, p->output.h);
    g.e[2] = fp_reduce_extent(p->input.w, p->output.w);
    g.e[3] = fp_reduce_extent(p->input.c, p->output.c);
    g.st[0] = p->input.h * p->input.w * p->input.c; /* < 2^31: fp_dims_count checked the count */
    g.st[1] = p->input.w * p->input.c;
    g.st[2] = p->input.c;
    return g;
}

/* Flat input index of output element `o` (output NHWC order): the window's first element. */
static inline int32_t fp_reduce_first(const fp_reduce_params_t *p, const fp_reduce_geom_t *g, int32_t o)
{
    int32_t ch = o % p->output.c;
    int32_t w = (o / p->output.c) % p->output.w;
    int32_t h = (o / (p->output.c * p->output.w)) % p->output.h;
    int32_t n = o / (p->output.c * p->output.w * p->output.h);
    return n * g->st[0] + h * g->st[1] + w * g->st[2] + ch;
}

/* Flat input index of the k-th element of a window (k < product of g->e). */
static inline int32_t fp_reduce_tap(const fp_reduce_geom_t *g, int32_t first, int32_t k)
{
    int32_t d = k % g->e[3];
    int32_t c = (k / g->e[3]) % g->e[2];
    int32_t b = (k / (g->e[3] * g->e[2])) % g->e[1];
    int32_t a = k / (g->e[3] * g->e[2] * g->e[1]);
    return first + a * g->st[0] + b * g->st[1] + c * g->st[2] + d;
}

/* The output value of one window whose values sum to `acc` (each plus
 * input_offset, exact in int64) and whose maximum is `best`. */
static inline int32_t fp_reduce_finish(const fp_reduce_params_t *p, int64_t acc, int32_t best)
{
    int32_t raw;
    if (p->kind == FP_REDUCE_MAX) {
        return fp_clamp_s32(best, p->act_min, p->act_max);
    }
    raw = fp_requant32(fp_sat_s32(acc), p->scale.multiplier, p->scale.shift, p->mode);
    return fp_clamp_s64((int64_t)raw + p->output_offset, p->act_min, p->act_max);
}

/* Number of elements per window (<= the input count, so < 2^31). */
static inline int32_t fp_reduce_window_size(const fp_reduce_geom_t *g)
{
    return g->e[0] * g->e[1] * g->e[2] * g->e[3];
}

#endif /* FP_REDUCE_H */
