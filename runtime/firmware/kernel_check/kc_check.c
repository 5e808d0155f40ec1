/*
 * kc_check.c - randomized equivalence check of the _dsp (or, built with
 * -DKC_VARIANT=mve -DKC_DSP_EXTRAS=0, the _mve) kernel variants; the _dsp build
 * also checks the specialised _dsp_fast entries and add s8
 * against the reference kernels, run on an emulated board.
 *
 * KC_CASES cases per kernel (default 10000) from a fixed-seed PRNG: random
 * shapes with tails (odd channel counts, widths not a multiple of 4, padding
 * on every side, strides, dilations, groups, depth multipliers), offsets,
 * activation ranges and requantization tables including the extremes (every
 * rounding mode, narrow multipliers, the shift limits), plus invalid
 * parameters, which both variants must refuse alike. Output buffers carry a
 * guard region that must stay untouched. Prints one summary line per kernel
 * ("check <kernel> cases=N invalid=M mismatches=K") and exits with the number
 * of kernels that mismatched.
 *
 * The specialised entries fp_conv2d_s8_dsp_fast, fp_depthwise_conv2d_s8_dsp_fast and
 * fp_fully_connected_s8_dsp_fast
 * run on every case too: inside their precondition (the one the code generator
 * checks: fp_dsp_terms_ok, fp_dsp_rq_fast_ok, scratch) they must equal the
 * reference, outside it return FP_ERR_UNSUPPORTED and write nothing (cores
 * without the DSP extension: equal the reference always). Their lines count
 * only the cases inside the precondition (and invalid ones); after the common
 * cases, cases biased into the precondition run until each has KC_CASES.
 */
#include <string.h>

#include "fp_runtime.h"
#include "../../src/internal/fp_requant.h"
#include "../../src/internal/fp_dsp.h"
#include "kc_common.h"

#ifndef KC_CASES
#define KC_CASES 10000
#endif

/* The variant under test: fp_<kernel>_<KC_VARIANT> (dsp or mve). */
#ifndef KC_VARIANT
#define KC_VARIANT dsp
#endif
#define KC_PASTE(a, b) a##_##b
#define KC_XPASTE(a, b) KC_PASTE(a, b)
/* The _dsp build also checks the specialised _dsp_fast entries and add_s8_dsp. */
#ifndef KC_DSP_EXTRAS
#define KC_DSP_EXTRAS 1
#endif
#define KC_FN(kernel) KC_XPASTE(kernel, KC_VARIANT)
#define KC_SCRATCH(kernel) KC_XPASTE(KC_FN(kernel), scratch_size)

#define KC_BUF 8192
#define KC_GUARD 64
#define KC_MAXCH 64

static int8_t kc_in[KC_BUF];
static int8_t kc_w[KC_BUF];
static int32_t kc_bias[KC_MAXCH];
static int32_t kc_mult[KC_MAXCH];
static int32_t kc_shift[KC_MAXCH];
static int8_t kc_out_ref[KC_BUF + KC_GUARD];
static int8_t kc_out_dsp[KC_BUF + KC_GUARD];
static uint32_t kc_scratch[16384];

static kc_rng_t kc_rng = {0x9E3779B97F4A7C15ULL};
/* 1: draw most parameters inside the _dsp_fast entries' precondition */
static int kc_fast_bias;
#if KC_DSP_EXTRAS
/* cases outside the precondition that the _dsp_fast entries refused correctly */
static uint32_t kc_fast_refused;
#endif

static int32_t rnd(int32_t lo, int32_t hi)
{
    return kc_range(&kc_rng, lo, hi);
}

static void fill(int8_t *p, int32_t n)
{
    int32_t i;
    const int32_t mode = rnd(0, 9);
    for (i = 0; i < n; ++i) {
        /* mostly uniform; sometimes only the extremes */
        p[i] = (int8_t)(mode == 0 ? (rnd(0, 1) ? 127 : -128) : rnd(-128, 127));
    }
}

static int32_t offset_in(void)
{
    const int32_t k = rnd(0, 19);
    if (kc_fast_bias && k < 18) {
        return rnd(-127, 128);
    }
    if (k == 0) {
        return rnd(0, 1) ? 16777088 : -16777087; /* the legal extremes: reference path */
    }
    if (k == 1) {
        return rnd(-200000, 200000);
    }
    if (k == 2) {
        return rnd(0, 1) ? 128 : -127; /* the fast path's ends */
    }
    return rnd(-128, 128);
}

static int32_t offset_out(void)
{
    const int32_t k = rnd(0, 19);
    if (k == 0) {
        return rnd(0, 1) ? INT32_MAX : INT32_MIN;
    }
    return rnd(-128, 127);
}

/* A requant table of n entries (n = 1 or channels), sometimes illegal. */
static fp_requant_t requant(int32_t channels)
{
    fp_requant_t rq;
    int32_t i;
    int32_t lo;
    int32_t hi;
    const int32_t k = rnd(0, 9);
    rq.mode.rounding = (uint8_t)(k < (kc_fast_bias ? 9 : 6) ? FP_ROUND_DOUBLE
                                 : (k < 8 ? FP_ROUND_SINGLE : FP_ROUND_SHIFT_ONLY));
    rq.mode.multiplier_bits = (uint8_t)(rnd(0, 3) != 0 ? 32 : rnd(2, 32));
    /* now and then an engine's narrow accumulator: the variants must leave their fast path */
    rq.mode.acc_bits = (uint8_t)(rnd(0, 7) == 0 ? rnd(16, 31) : 0);
    rq.mode.acc_wrap = (uint8_t)rnd(0, 1);
    rq.n = rnd(0, 2) != 0 ? channels : 1;
    rq.multiplier = kc_mult;
    rq.shift = kc_shift;
    fp_rq_shift_range(rq.mode, 0, &lo, &hi);
    for (i = 0; i < rq.n; ++i) {
        const int32_t top = (int32_t)(((int64_t)1 << (rq.mode.multiplier_bits - 1)) - 1);
        const int32_t m = rnd(0, 7);
        kc_mult[i] = m == 0 ? top : (m == 1 ? rnd(0, 3) : rnd(top / 2, top));
        kc_shift[i] = rnd(0, 5) == 0 ? (rnd(0, 1) ? lo : hi) : rnd(lo > -12 ? lo : -12, hi < 2 ? hi : 2);
        if (kc_fast_bias && rq.mode.rounding == FP_ROUND_DOUBLE && kc_shift[i] > 0 && rnd(0, 19) != 0) {
            kc_shift[i] = -kc_shift[i];
        }
    }
    if (rnd(0, 199) == 0) {
        kc_shift[0] = hi + 1; /* illegal: both variants must refuse */
    }
    return rq;
}

static void acts(int32_t *lo, int32_t *hi)
{
    *lo = rnd(0, 1) ? -128 : rnd(-128, 127);
    *hi = rnd(0, 1) ? 127 : rnd(*lo, 127);
    if (rnd(0, 199) == 0) {
        *hi = *lo - 1; /* illegal */
    }
}

static const int32_t *bias(int32_t channels)
{
    int32_t i;
    const int32_t k = rnd(0, 9);
    if (k == 0) {
        return NULL;
    }
    for (i = 0; i < channels; ++i) {
        kc_bias[i] = k == 1 ? (rnd(0, 1) ? INT32_MAX - rnd(0, 1000) : INT32_MIN + rnd(0, 1000))
                            : rnd(-200000, 200000);
    }
    return kc_bias;
}

/* Output extent of one axis, or 0 when the window does not fit. */
static int32_t out_extent(int32_t in, int32_t k, int32_t stride, int32_t dil, int32_t pad_a,
                          int32_t pad_b)
{
    const int32_t span = in + pad_a + pad_b - dil * (k - 1) - 1;
    return span < 0 ? 0 : span / stride + 1;
}

typedef struct {
    uint32_t cases;
    uint32_t invalid;
    uint32_t mismatches;
} kc_tally_t;

static void compare(kc_tally_t *t, const char *kernel, fp_status_t sr, fp_status_t sd,
                    int32_t n_out)
{
    char msg[120];
    t->cases++;
    if (sr != FP_OK) {
        t->invalid++;
    }
    if (sr != sd || memcmp(kc_out_ref, kc_out_dsp, (size_t)n_out + KC_GUARD) != 0) {
        if (t->mismatches < 5) {
            kc_format(msg, sizeof msg, "mismatch %s case %u status %d/%d\n", kernel, t->cases,
                      (int32_t)sr, (int32_t)sd);
            kc_write(msg);
        }
        t->mismatches++;
    }
}

static void reset_out(int32_t n)
{
    memset(kc_out_ref, 0x5A, (size_t)n + KC_GUARD);
    memset(kc_out_dsp, 0x5A, (size_t)n + KC_GUARD);
}

#if KC_DSP_EXTRAS
/* A _dsp_fast entry's result sf for a case whose reference status is sr:
 * inside the precondition (fast) or with invalid parameters it is compared
 * with the reference like a variant; outside it (DSP cores) it must be
 * FP_ERR_UNSUPPORTED with the output untouched. kc_out_dsp was reset. */
static void compare_fast(kc_tally_t *t, const char *kernel, fp_status_t sr, fp_status_t sf,
                         int fast, int32_t n_out)
{
#if FP_DSP_AVAILABLE
    if (!fast && sr == FP_OK) {
        int32_t i;
        int bad = sf != FP_ERR_UNSUPPORTED;
        for (i = 0; i < n_out + KC_GUARD; ++i) {
            bad |= kc_out_dsp[i] != 0x5A;
        }
        if (bad) {
            t->cases++;
            t->mismatches++;
            kc_write("mismatch: a _dsp_fast entry ran outside its precondition\n");
        } else {
            kc_fast_refused++;
        }
        return;
    }
#else
    (void)fast;
#endif
    compare(t, kernel, sr, sf, n_out);
}
#endif

static int conv_case(kc_tally_t *t, kc_tally_t *tf)
{
    fp_status_t sr;
    fp_conv2d_params_t p;
    const int32_t groups = rnd(0, 3) == 0 ? rnd(2, 3) : 1;
    const int32_t cg = rnd(0, 2) == 0 ? 4 * rnd(1, 6) : rnd(1, 9);
    const int32_t opg = rnd(1, 7);
    int32_t pad_b;
    int32_t pad_r;
    int32_t n_in;
    int32_t n_w;
    int32_t n_out;
    const int32_t *b;
    size_t need;
    p.groups = groups;
    p.input.n = rnd(1, 2);
    p.input.h = rnd(1, 9);
    p.input.w = rnd(1, 11);
    p.input.c = cg * groups;
    p.filter.n = opg * groups;
    p.filter.h = rnd(1, 4);
    p.filter.w = rnd(1, 4);
    p.filter.c = cg;
    p.stride_h = rnd(1, 3);
    p.stride_w = rnd(1, 3);
    p.dilation_h = rnd(0, 3) == 0 ? 2 : 1;
    p.dilation_w = rnd(0, 3) == 0 ? 2 : 1;
    p.pad_top = rnd(0, p.filter.h);
    p.pad_left = rnd(0, p.filter.w);
    pad_b = rnd(0, p.filter.h);
    pad_r = rnd(0, p.filter.w);
    p.output.n = p.input.n;
    p.output.h = out_extent(p.input.h, p.filter.h, p.stride_h, p.dilation_h, p.pad_top, pad_b);
    p.output.w = out_extent(p.input.w, p.filter.w, p.stride_w, p.dilation_w, p.pad_left, pad_r);
    p.output.c = p.filter.n;
    n_in = p.input.n * p.input.h * p.input.w * p.input.c;
    n_w = p.filter.n * p.filter.h * p.filter.w * p.filter.c;
    n_out = p.output.n * p.output.h * p.output.w * p.output.c;
    if (p.output.h < 1 || p.output.w < 1 || n_in > KC_BUF || n_w > KC_BUF || n_out > KC_BUF) {
        return 0;
    }
    p.input_offset = offset_in();
    p.output_offset = offset_out();
    acts(&p.act_min, &p.act_max);
    p.requant = requant(p.output.c);
    fill(kc_in, n_in);
    fill(kc_w, n_w);
    b = bias(p.output.c);
    need = KC_SCRATCH(fp_conv2d_s8)(&p);
    if (need > sizeof kc_scratch) {
        return 0;
    }
    reset_out(n_out);
    sr = fp_conv2d_s8(&p, kc_in, kc_w, b, kc_out_ref, NULL);
    compare(t, "conv2d_s8", sr,
            KC_FN(fp_conv2d_s8)(&p, kc_in, kc_w, b, kc_out_dsp, need ? kc_scratch : NULL), n_out);
#if KC_DSP_EXTRAS
    memset(kc_out_dsp, 0x5A, (size_t)n_out + KC_GUARD);
    compare_fast(tf, "conv2d_s8_dsp_fast", sr,
                 fp_conv2d_s8_dsp_fast(&p, kc_in, kc_w, b, kc_out_dsp, kc_scratch),
                 need > 0 && fp_dsp_terms_ok(p.input_offset, 0) && fp_dsp_rq_fast_ok(&p.requant),
                 n_out);
#else
    (void)tf;
#endif
    return 1;
}

static int dw_case(kc_tally_t *t, kc_tally_t *tf)
{
    fp_status_t sr;
    fp_depthwise_conv2d_params_t p;
    int32_t pad_b;
    int32_t pad_r;
    int32_t n_in;
    int32_t n_w;
    int32_t n_out;
    const int32_t *b;
    size_t need;
    const int32_t three = rnd(0, 2) == 0;
    p.depth_multiplier = rnd(0, 3) == 0 ? rnd(2, 3) : 1;
    p.input.n = rnd(1, 2);
    p.input.h = rnd(1, 10);
    p.input.w = rnd(1, 11);
    p.input.c = rnd(0, 2) == 0 ? 4 * rnd(1, 8) : rnd(1, 13);
    p.filter.n = 1;
    p.filter.h = three ? 3 : rnd(1, 5);
    p.filter.w = three ? 3 : rnd(1, 5);
    p.filter.c = p.input.c * p.depth_multiplier;
    p.stride_h = rnd(0, 1) ? 1 : rnd(1, 3);
    p.stride_w = rnd(0, 1) ? 1 : rnd(1, 3);
    p.dilation_h = rnd(0, 3) == 0 ? 2 : 1;
    p.dilation_w = rnd(0, 3) == 0 ? 2 : 1;
    p.pad_top = rnd(0, p.filter.h);
    p.pad_left = rnd(0, p.filter.w);
    pad_b = rnd(0, p.filter.h);
    pad_r = rnd(0, p.filter.w);
    p.output.n = p.input.n;
    p.output.h = out_extent(p.input.h, p.filter.h, p.stride_h, p.dilation_h, p.pad_top, pad_b);
    p.output.w = out_extent(p.input.w, p.filter.w, p.stride_w, p.dilation_w, p.pad_left, pad_r);
    p.output.c = p.filter.c;
    n_in = p.input.n * p.input.h * p.input.w * p.input.c;
    n_w = p.filter.h * p.filter.w * p.filter.c;
    n_out = p.output.n * p.output.h * p.output.w * p.output.c;
    if (p.output.h < 1 || p.output.w < 1 || n_in > KC_BUF || n_w > KC_BUF || n_out > KC_BUF
        || p.output.c > KC_MAXCH) {
        return 0;
    }
    p.input_offset = offset_in();
    p.output_offset = offset_out();
    acts(&p.act_min, &p.act_max);
    p.requant = requant(p.output.c);
    fill(kc_in, n_in);
    fill(kc_w, n_w);
    b = bias(p.output.c);
    need = KC_SCRATCH(fp_depthwise_conv2d_s8)(&p);
    if (need > sizeof kc_scratch) {
        return 0;
    }
    reset_out(n_out);
    sr = fp_depthwise_conv2d_s8(&p, kc_in, kc_w, b, kc_out_ref, NULL);
    compare(t, "depthwise_conv2d_s8", sr,
            KC_FN(fp_depthwise_conv2d_s8)(&p, kc_in, kc_w, b, kc_out_dsp, need ? kc_scratch : NULL),
            n_out);
#if KC_DSP_EXTRAS
    memset(kc_out_dsp, 0x5A, (size_t)n_out + KC_GUARD);
    compare_fast(tf, "depthwise_conv2d_s8_dsp_fast", sr,
                 fp_depthwise_conv2d_s8_dsp_fast(&p, kc_in, kc_w, b, kc_out_dsp, kc_scratch),
                 fp_dsp_terms_ok(p.input_offset, (int64_t)p.filter.h * p.filter.w)
                     && fp_dsp_rq_fast_ok(&p.requant),
                 n_out);
#else
    (void)tf;
#endif
    return 1;
}

static int fc_case(kc_tally_t *t, kc_tally_t *tf)
{
    fp_status_t sr;
    fp_fully_connected_params_t p;
    const int32_t *b;
    int32_t n_out;
    size_t need;
    p.batches = rnd(1, 3);
    p.depth = rnd(0, 1) ? rnd(1, 40) : rnd(1, 300);
    p.out_channels = rnd(1, 17);
    if (p.batches * p.depth > KC_BUF || p.out_channels * p.depth > KC_BUF) {
        return 0;
    }
    p.input_offset = offset_in();
    p.filter_offset = rnd(0, 9) == 0 ? rnd(-128, 127) : 0;
    p.output_offset = offset_out();
    acts(&p.act_min, &p.act_max);
    p.requant = requant(p.out_channels);
    fill(kc_in, p.batches * p.depth);
    fill(kc_w, p.out_channels * p.depth);
    b = bias(p.out_channels);
    n_out = p.batches * p.out_channels;
    need = KC_SCRATCH(fp_fully_connected_s8)(&p);
    if (need > sizeof kc_scratch) {
        return 0;
    }
    reset_out(n_out);
    sr = fp_fully_connected_s8(&p, kc_in, kc_w, b, kc_out_ref, NULL);
    compare(t, "fully_connected_s8", sr,
            KC_FN(fp_fully_connected_s8)(&p, kc_in, kc_w, b, kc_out_dsp, need ? kc_scratch : NULL),
            n_out);
#if KC_DSP_EXTRAS
    memset(kc_out_dsp, 0x5A, (size_t)n_out + KC_GUARD);
    compare_fast(tf, "fully_connected_s8_dsp_fast", sr,
                 fp_fully_connected_s8_dsp_fast(&p, kc_in, kc_w, b, kc_out_dsp, NULL),
                 p.filter_offset == 0 && fp_dsp_terms_ok(p.input_offset, p.depth)
                     && fp_dsp_rq_fast_ok(&p.requant),
                 n_out);
#else
    (void)tf;
#endif
    return 1;
}

#if KC_DSP_EXTRAS
/* One NHWC dim of an add operand: the output's, or 1 (broadcast). */
static int32_t bdim(int32_t out)
{
    return rnd(0, 3) == 0 ? 1 : out;
}

static int add_case(kc_tally_t *t)
{
    fp_add_params_t p;
    int32_t lo;
    int32_t hi;
    int32_t n1;
    int32_t n2;
    int32_t n_out;
    const int32_t k = rnd(0, 9);
    p.output.n = rnd(1, 2);
    p.output.h = rnd(1, 6);
    p.output.w = rnd(1, 9);
    p.output.c = rnd(0, 2) == 0 ? 4 * rnd(1, 8) : rnd(1, 19);
    p.input1 = p.output;
    p.input2 = p.output;
    if (rnd(0, 2) == 0) { /* broadcasting on some axes of either input */
        p.input1.n = bdim(p.output.n);
        p.input1.h = bdim(p.output.h);
        p.input2.w = bdim(p.output.w);
        p.input2.c = bdim(p.output.c);
    }
    n1 = p.input1.n * p.input1.h * p.input1.w * p.input1.c;
    n2 = p.input2.n * p.input2.h * p.input2.w * p.input2.c;
    n_out = p.output.n * p.output.h * p.output.w * p.output.c;
    if (n1 + n2 > KC_BUF || n_out > KC_BUF) {
        return 0;
    }
    p.mode.rounding = (uint8_t)(k < 6 ? FP_ROUND_DOUBLE : (k < 8 ? FP_ROUND_SINGLE : FP_ROUND_SHIFT_ONLY));
    p.mode.multiplier_bits = (uint8_t)(rnd(0, 3) != 0 ? 32 : rnd(2, 32));
    p.mode.acc_bits = (uint8_t)(rnd(0, 7) == 0 ? rnd(16, 31) : 0);
    p.mode.acc_wrap = (uint8_t)rnd(0, 1);
    fp_rq_shift_range(p.mode, 0, &lo, &hi);
    {
        const int32_t top = (int32_t)(((int64_t)1 << (p.mode.multiplier_bits - 1)) - 1);
        fp_scale_t *sc[3];
        int32_t j;
        sc[0] = &p.input1_scale;
        sc[1] = &p.input2_scale;
        sc[2] = &p.output_scale;
        for (j = 0; j < 3; ++j) {
            const int32_t m = rnd(0, 7);
            sc[j]->multiplier = m == 0 ? top : (m == 1 ? rnd(0, 3) : rnd(top / 2, top));
            sc[j]->shift = rnd(0, 5) == 0 ? (rnd(0, 1) ? lo : hi)
                                          : rnd(lo > -24 ? lo : -24, hi < 2 ? hi : 2);
        }
    }
    p.left_shift = rnd(0, 3) == 0 ? rnd(0, 31) : 20;
    p.input1_offset = offset_in();
    p.input2_offset = offset_in();
    p.output_offset = offset_out();
    p.subtract = rnd(0, 3) == 0;
    acts(&p.act_min, &p.act_max);
    if (rnd(0, 199) == 0) {
        p.left_shift = 32; /* illegal */
    }
    fill(kc_in, n1);
    fill(kc_w, n2);
    reset_out(n_out);
    compare(t, "add_s8", fp_add_s8(&p, kc_in, kc_w, kc_out_ref),
            fp_add_s8_dsp(&p, kc_in, kc_w, kc_out_dsp), n_out);
    return 1;
}
#endif

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
    kc_tally_t conv = {0, 0, 0};
    kc_tally_t dw = {0, 0, 0};
    kc_tally_t fc = {0, 0, 0};
    kc_tally_t conv_fast = {0, 0, 0};
    kc_tally_t dw_fast = {0, 0, 0};
    kc_tally_t fc_fast = {0, 0, 0};
    int failed = 0;
    while (conv.cases < KC_CASES) {
        (void)conv_case(&conv, &conv_fast);
    }
    failed += report("conv2d_s8", &conv);
    while (dw.cases < KC_CASES) {
        (void)dw_case(&dw, &dw_fast);
    }
    failed += report("depthwise_conv2d_s8", &dw);
    while (fc.cases < KC_CASES) {
        (void)fc_case(&fc, &fc_fast);
    }
    failed += report("fully_connected_s8", &fc);
#if KC_DSP_EXTRAS
    kc_tally_t add = {0, 0, 0};
    kc_tally_t more = {0, 0, 0}; /* the variants on the biased cases */
    char msg[80];
    while (add.cases < KC_CASES) {
        (void)add_case(&add);
    }
    failed += report("add_s8", &add);
    kc_fast_bias = 1;
    while (conv_fast.cases < KC_CASES) {
        (void)conv_case(&more, &conv_fast);
    }
    failed += report("conv2d_s8_dsp_fast", &conv_fast);
    while (dw_fast.cases < KC_CASES) {
        (void)dw_case(&more, &dw_fast);
    }
    failed += report("depthwise_conv2d_s8_dsp_fast", &dw_fast);
    while (fc_fast.cases < KC_CASES) {
        (void)fc_case(&more, &fc_fast);
    }
    failed += report("fully_connected_s8_dsp_fast", &fc_fast);
    kc_format(msg, sizeof msg, "refused %u\n", kc_fast_refused);
    kc_write(msg);
    failed += more.mismatches != 0u;
#endif
    return failed;
}
