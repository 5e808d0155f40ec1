/*
 * kc_check_elem.c - randomized equivalence check of the elementwise and
 * pooling kernel variants fp_add_s8_<KC_VARIANT>, fp_max_pool_s8_<...> and
 * fp_avg_pool_s8_<...> against the reference kernels, run on an emulated
 * board (the weighted kernels: kc_check.c).
 *
 * KC_CASES cases per kernel (default 10000) from a fixed-seed PRNG: shapes
 * with tails (channel counts not a multiple of 16 or 4, odd widths),
 * broadcasting on every axis, add and subtract, offsets from TFLite's zero
 * points to the int32 extremes, left shifts, every rounding mode and
 * multiplier width, extreme shifts; pools with padding on every side,
 * strides, windows larger than the input; activation ranges; invalid
 * parameters, which both must refuse alike. Output buffers carry a guard
 * region that must stay untouched. Prints "check <kernel> cases=N invalid=M
 * mismatches=K" per kernel and exits with the number of kernels that
 * mismatched.
 */
#include <string.h>

#include "fp_runtime.h"
#include "../../src/internal/fp_requant.h"
#include "kc_common.h"

#ifndef KC_CASES
#define KC_CASES 10000
#endif
#ifndef KC_VARIANT
#define KC_VARIANT mve
#endif
#define KC_PASTE(a, b) a##_##b
#define KC_XPASTE(a, b) KC_PASTE(a, b)
#define KC_FN(kernel) KC_XPASTE(kernel, KC_VARIANT)

#define KC_BUF 4096
#define KC_GUARD 64

static int8_t kc_in1[KC_BUF];
static int8_t kc_in2[KC_BUF];
static int8_t kc_out_ref[KC_BUF + KC_GUARD];
static int8_t kc_out_var[KC_BUF + KC_GUARD];
static kc_rng_t kc_rng = {0xD1B54A32D192ED03ULL};

typedef struct {
    uint32_t cases;
    uint32_t invalid;
    uint32_t mismatches;
} kc_tally_t;

static int32_t rnd(int32_t lo, int32_t hi)
{
    return kc_range(&kc_rng, lo, hi);
}

static void fill(int8_t *p, int32_t n)
{
    int32_t i;
    const int32_t mode = rnd(0, 9);
    for (i = 0; i < n; ++i) {
        p[i] = (int8_t)(mode == 0 ? (rnd(0, 1) ? 127 : -128) : rnd(-128, 127));
    }
}

static int32_t offset(void)
{
    const int32_t k = rnd(0, 19);
    if (k == 0) {
        return rnd(0, 1) ? INT32_MAX - rnd(0, 200) : INT32_MIN + rnd(0, 200);
    }
    if (k == 1) {
        return rnd(-100000, 100000);
    }
    return rnd(-128, 128);
}

static void acts(int32_t *lo, int32_t *hi)
{
    *lo = rnd(0, 1) ? -128 : rnd(-128, 127);
    *hi = rnd(0, 1) ? 127 : rnd(*lo, 127);
    if (rnd(0, 99) == 0) {
        *hi = *lo - 1; /* illegal */
    }
}

/* A legal (multiplier, shift) for mode, sometimes at the limits. */
static fp_scale_t scale(fp_rq_mode_t mode)
{
    fp_scale_t s;
    int32_t lo;
    int32_t hi;
    const int32_t top = (int32_t)(((int64_t)1 << (mode.multiplier_bits - 1)) - 1);
    const int32_t m = rnd(0, 7);
    fp_rq_shift_range(mode, 0, &lo, &hi);
    s.multiplier = m == 0 ? top : (m == 1 ? rnd(0, 3) : rnd(top / 2, top));
    s.shift = rnd(0, 5) == 0 ? (rnd(0, 1) ? lo : hi) : rnd(lo > -20 ? lo : -20, hi < 4 ? hi : 4);
    return s;
}

static void compare(kc_tally_t *t, const char *kernel, fp_status_t sr, fp_status_t sv,
                    int32_t n_out)
{
    char msg[120];
    t->cases++;
    if (sr != FP_OK) {
        t->invalid++;
    }
    if (sr != sv || memcmp(kc_out_ref, kc_out_var, (size_t)n_out + KC_GUARD) != 0) {
        if (t->mismatches < 5) {
            kc_format(msg, sizeof msg, "mismatch %s case %u status %d/%d\n", kernel, t->cases,
                      (int32_t)sr, (int32_t)sv);
            kc_write(msg);
        }
        t->mismatches++;
    }
}

static void reset_out(int32_t n)
{
    memset(kc_out_ref, 0x5A, (size_t)n + KC_GUARD);
    memset(kc_out_var, 0x5A, (size_t)n + KC_GUARD);
}

static int32_t dims_count(const fp_dims_t *d)
{
    return d->n * d->h * d->w * d->c;
}

static int add_case(kc_tally_t *t)
{
    fp_add_params_t p;
    int32_t full[4];
    int32_t i;
    int32_t n_out;
    const int32_t k = rnd(0, 9);
    full[0] = rnd(1, 2);
    full[1] = rnd(1, 6);
    full[2] = rnd(1, 7);
    full[3] = rnd(0, 2) == 0 ? 16 * rnd(1, 3) : rnd(1, 21);
    p.output = (fp_dims_t){full[0], full[1], full[2], full[3]};
    p.input1 = p.output;
    p.input2 = p.output;
    if (rnd(0, 2) == 0) { /* broadcast some axes of one input */
        fp_dims_t *b = rnd(0, 1) ? &p.input1 : &p.input2;
        int32_t *f = &b->n;
        for (i = 0; i < 4; ++i) {
            if (rnd(0, 2) == 0) {
                f[i] = 1;
            }
        }
    }
    p.mode.rounding = (uint8_t)(k < 6 ? FP_ROUND_DOUBLE : (k < 8 ? FP_ROUND_SINGLE : FP_ROUND_SHIFT_ONLY));
    p.mode.multiplier_bits = (uint8_t)(rnd(0, 3) != 0 ? 32 : rnd(2, 32));
    p.mode.acc_bits = (uint8_t)(rnd(0, 7) == 0 ? rnd(16, 31) : 0);
    p.mode.acc_wrap = (uint8_t)rnd(0, 1);
    p.input1_offset = offset();
    p.input2_offset = offset();
    p.output_offset = rnd(0, 19) == 0 ? (rnd(0, 1) ? INT32_MAX : INT32_MIN) : rnd(-128, 127);
    p.left_shift = rnd(0, 3) == 0 ? rnd(0, 31) : 20;
    p.input1_scale = scale(p.mode);
    p.input2_scale = scale(p.mode);
    p.output_scale = scale(p.mode);
    p.subtract = rnd(0, 3) == 0;
    acts(&p.act_min, &p.act_max);
    if (rnd(0, 149) == 0) {
        p.left_shift = 32; /* illegal */
    }
    if (rnd(0, 149) == 0) {
        p.input2.c = p.output.c + 1; /* illegal: not broadcastable */
    }
    n_out = dims_count(&p.output);
    if (n_out > KC_BUF || dims_count(&p.input1) > KC_BUF || dims_count(&p.input2) > KC_BUF) {
        return 0;
    }
    fill(kc_in1, dims_count(&p.input1));
    fill(kc_in2, dims_count(&p.input2));
    reset_out(n_out);
    compare(t, "add_s8", fp_add_s8(&p, kc_in1, kc_in2, kc_out_ref),
            KC_FN(fp_add_s8)(&p, kc_in1, kc_in2, kc_out_var), n_out);
    return 1;
}

/* A legal pool geometry, sometimes not. Returns the output count. */
static int32_t pool_params(fp_pool_params_t *p)
{
    int32_t pad_b;
    int32_t pad_r;
    int32_t span_h;
    int32_t span_w;
    const int global = rnd(0, 4) == 0;
    p->input.n = rnd(1, 2);
    p->input.h = rnd(1, 10);
    p->input.w = rnd(1, 11);
    p->input.c = rnd(0, 2) == 0 ? 16 * rnd(1, 3) : rnd(1, 37);
    p->filter_h = global ? p->input.h : rnd(1, 4);
    p->filter_w = global ? p->input.w : rnd(1, 4);
    p->stride_h = rnd(1, 3);
    p->stride_w = rnd(1, 3);
    p->pad_top = global ? 0 : rnd(0, p->filter_h - 1);
    p->pad_left = global ? 0 : rnd(0, p->filter_w - 1);
    pad_b = global ? 0 : rnd(0, p->filter_h - 1);
    pad_r = global ? 0 : rnd(0, p->filter_w - 1);
    span_h = p->input.h + p->pad_top + pad_b - p->filter_h;
    span_w = p->input.w + p->pad_left + pad_r - p->filter_w;
    p->output.n = p->input.n;
    p->output.h = span_h < 0 ? 1 : span_h / p->stride_h + 1;
    p->output.w = span_w < 0 ? 1 : span_w / p->stride_w + 1;
    p->output.c = p->input.c;
    acts(&p->act_min, &p->act_max);
    if (rnd(0, 149) == 0) {
        p->pad_top = p->filter_h; /* illegal */
    }
    return dims_count(&p->output);
}

static int pool_case(kc_tally_t *t, int average)
{
    fp_pool_params_t p;
    const int32_t n_out = pool_params(&p);
    if (n_out > KC_BUF || dims_count(&p.input) > KC_BUF) {
        return 0;
    }
    fill(kc_in1, dims_count(&p.input));
    reset_out(n_out);
    if (average) {
        compare(t, "avg_pool_s8", fp_avg_pool_s8(&p, kc_in1, kc_out_ref),
                KC_FN(fp_avg_pool_s8)(&p, kc_in1, kc_out_var), n_out);
    } else {
        compare(t, "max_pool_s8", fp_max_pool_s8(&p, kc_in1, kc_out_ref),
                KC_FN(fp_max_pool_s8)(&p, kc_in1, kc_out_var), n_out);
    }
    return 1;
}

static int report(const char *kernel, const kc_tally_t *t)
{
    char msg[120];
    kc_format(msg, sizeof msg, "check %s cases=%u invalid=%u mismatches=%u\n", kernel, t->cases,
              t->invalid, t->mismatches);
    kc_write(msg);
    return t->mismatches != 0u;
}

int main(void)
{
    kc_tally_t add = {0, 0, 0};
    kc_tally_t maxp = {0, 0, 0};
    kc_tally_t avgp = {0, 0, 0};
    int failed = 0;
    while (add.cases < KC_CASES) {
        (void)add_case(&add);
    }
    failed += report("add_s8", &add);
    while (maxp.cases < KC_CASES) {
        (void)pool_case(&maxp, 0);
    }
    failed += report("max_pool_s8", &maxp);
    while (avgp.cases < KC_CASES) {
        (void)pool_case(&avgp, 1);
    }
    failed += report("avg_pool_s8", &avgp);
    return failed;
}
