/*
 * kc_bench.c - instruction counts of the s8 multiply-accumulate kernels on
 * the issue #10 shapes: the reference (fp_*_s8), the variant for the board
 * (fp_*_s8_dsp; on a core with Helium also fp_*_s8_mve) and, built with KC_CMSIS=1 against an external CMSIS-NN
 * checkout (bench/bench_kernels.py; never part of the repository), CMSIS-NN's
 * kernel on the same data. Every output must equal the reference's.
 *
 * Prints "bench <shape> <impl> instructions=<n> macs=<m> match=<0|1>" per
 * run. Counts come from counter/systick_icount.c (exact under QEMU -icount)
 * minus the cost of an empty measurement.
 */
#include <string.h>

#include "fp_runtime.h"
#include "fw_platform.h"
#include "kc_common.h"

#if KC_CMSIS
#include "arm_nnfunctions.h"
#endif

#define KC_MAX_IN (32 * 32 * 32)
#define KC_MAX_W (64 * 64)
#define KC_MAX_OUT (32 * 32 * 32)
#define KC_MAX_CH 128

static int8_t kc_in[KC_MAX_IN];
static int8_t kc_w[KC_MAX_W * 3];
static int32_t kc_bias[KC_MAX_CH];
static int32_t kc_mult[KC_MAX_CH];
static int32_t kc_shift[KC_MAX_CH];
static int8_t kc_ref[KC_MAX_OUT];
static int8_t kc_out[KC_MAX_OUT];
static uint32_t kc_scratch[8192];
static kc_rng_t kc_rng = {0x0123456789ABCDEFULL};
static uint64_t kc_overhead;

static void fill(int8_t *p, int32_t n)
{
    int32_t i;
    for (i = 0; i < n; ++i) {
        p[i] = (int8_t)kc_range(&kc_rng, -128, 127);
    }
}

/* Realistic per-channel scales: Q31 multipliers in [2^30, 2^31), right shifts. */
static void scales(int32_t channels)
{
    int32_t i;
    for (i = 0; i < channels; ++i) {
        kc_mult[i] = kc_range(&kc_rng, 1073741824, INT32_MAX);
        kc_shift[i] = kc_range(&kc_rng, -10, -7);
        kc_bias[i] = kc_range(&kc_rng, -5000, 5000);
    }
}

static uint64_t kc_t0;

static void tic(void)
{
    kc_t0 = fw_counter_start();
}

static uint64_t toc(void)
{
    const uint64_t n = fw_counter_elapsed(kc_t0, fw_counter_now());
    return n > kc_overhead ? n - kc_overhead : 0u;
}

static void report(const char *shape, const char *impl, uint64_t n, uint32_t macs, int32_t n_out,
                   int status)
{
    char msg[160];
    const int match = status == 0 && memcmp(kc_ref, kc_out, (size_t)n_out) == 0;
    kc_format(msg, sizeof msg, "bench %s %s instructions=%U macs=%u match=%d\n", shape, impl, n,
              macs, match);
    kc_write(msg);
    memset(kc_out, 0x5A, sizeof kc_out);
}

static fp_requant_t requant(int32_t n)
{
    fp_requant_t rq;
    rq.multiplier = kc_mult;
    rq.shift = kc_shift;
    rq.n = n;
    rq.mode.rounding = FP_ROUND_DOUBLE;
    rq.mode.multiplier_bits = 32;
    rq.mode.acc_bits = 0;
    rq.mode.acc_wrap = 0;
    return rq;
}

#define IN_OFF 7
#define OUT_OFF (-3)

static void bench_conv(const char *shape, int32_t h, int32_t w, int32_t cin, int32_t cout,
                       int32_t k, int32_t pad)
{
    fp_conv2d_params_t p;
    const int32_t n_out = h * w * cout;
    const uint32_t macs = (uint32_t)(h * w * cout * k * k * cin);
    uint64_t n;
    fp_status_t st;
    memset(&p, 0, sizeof p);
    p.input = (fp_dims_t){1, h, w, cin};
    p.filter = (fp_dims_t){cout, k, k, cin};
    p.output = (fp_dims_t){1, h, w, cout};
    p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
    p.pad_top = p.pad_left = pad;
    p.groups = 1;
    p.input_offset = IN_OFF;
    p.output_offset = OUT_OFF;
    p.act_min = -128;
    p.act_max = 127;
    fill(kc_in, h * w * cin);
    fill(kc_w, cout * k * k * cin);
    scales(cout);
    p.requant = requant(cout);
    tic();
    st = fp_conv2d_s8(&p, kc_in, kc_w, kc_bias, kc_ref, NULL);
    n = toc();
    memcpy(kc_out, kc_ref, (size_t)n_out);
    report(shape, "reference", n, macs, n_out, st);
    if (fp_conv2d_s8_dsp_scratch_size(&p) > sizeof kc_scratch) {
        kc_write("error: scratch too small\n");
        kc_exit(2);
    }
    tic();
    st = fp_conv2d_s8_dsp(&p, kc_in, kc_w, kc_bias, kc_out, kc_scratch);
    n = toc();
    report(shape, "dsp", n, macs, n_out, st);
#if defined(__ARM_FEATURE_MVE)
    if (fp_conv2d_s8_mve_scratch_size(&p) > sizeof kc_scratch) {
        kc_write("error: scratch too small\n");
        kc_exit(2);
    }
    memset(kc_out, 0x5A, (size_t)n_out);
    tic();
    st = fp_conv2d_s8_mve(&p, kc_in, kc_w, kc_bias, kc_out, kc_scratch);
    n = toc();
    report(shape, "mve", n, macs, n_out, st);
#endif
#if KC_CMSIS
    {
        cmsis_nn_context ctx = {kc_scratch, (int32_t)sizeof kc_scratch};
        const cmsis_nn_conv_params cp = {IN_OFF, OUT_OFF, {1, 1}, {pad, pad}, {1, 1}, {-128, 127}};
        const cmsis_nn_per_channel_quant_params qp = {kc_mult, kc_shift};
        const cmsis_nn_dims id = {1, h, w, cin};
        const cmsis_nn_dims fd = {cout, k, k, cin};
        const cmsis_nn_dims bd = {1, 1, 1, cout};
        const cmsis_nn_dims od = {1, h, w, cout};
        if (arm_convolve_wrapper_s8_get_buffer_size(&cp, &id, &fd, &od) > (int32_t)sizeof kc_scratch) {
            kc_write("error: CMSIS-NN buffer too small\n");
            kc_exit(2);
        }
        tic();
        st = (fp_status_t)arm_convolve_wrapper_s8(&ctx, &cp, &qp, &id, kc_in, &fd, kc_w, &bd, kc_bias, &od, kc_out);
        n = toc();
        report(shape, "cmsis-nn", n, macs, n_out, st);
    }
#endif
}

static void bench_dw(const char *shape, int32_t h, int32_t w, int32_t c)
{
    fp_depthwise_conv2d_params_t p;
    const int32_t n_out = h * w * c;
    const uint32_t macs = (uint32_t)(h * w * c * 9);
    uint64_t n;
    fp_status_t st;
    memset(&p, 0, sizeof p);
    p.input = (fp_dims_t){1, h, w, c};
    p.filter = (fp_dims_t){1, 3, 3, c};
    p.output = (fp_dims_t){1, h, w, c};
    p.stride_h = p.stride_w = p.dilation_h = p.dilation_w = 1;
    p.pad_top = p.pad_left = 1;
    p.depth_multiplier = 1;
    p.input_offset = IN_OFF;
    p.output_offset = OUT_OFF;
    p.act_min = -128;
    p.act_max = 127;
    fill(kc_in, h * w * c);
    fill(kc_w, 9 * c);
    scales(c);
    p.requant = requant(c);
    tic();
    st = fp_depthwise_conv2d_s8(&p, kc_in, kc_w, kc_bias, kc_ref, NULL);
    n = toc();
    memcpy(kc_out, kc_ref, (size_t)n_out);
    report(shape, "reference", n, macs, n_out, st);
    tic();
    st = fp_depthwise_conv2d_s8_dsp(&p, kc_in, kc_w, kc_bias, kc_out, kc_scratch);
    n = toc();
    report(shape, "dsp", n, macs, n_out, st);
#if defined(__ARM_FEATURE_MVE)
    memset(kc_out, 0x5A, (size_t)n_out);
    tic();
    st = fp_depthwise_conv2d_s8_mve(&p, kc_in, kc_w, kc_bias, kc_out, kc_scratch);
    n = toc();
    report(shape, "mve", n, macs, n_out, st);
#endif
#if KC_CMSIS
    {
        cmsis_nn_context ctx = {kc_scratch, (int32_t)sizeof kc_scratch};
        const cmsis_nn_dw_conv_params dp = {IN_OFF, OUT_OFF, 1, {1, 1}, {1, 1}, {1, 1}, {-128, 127}};
        const cmsis_nn_per_channel_quant_params qp = {kc_mult, kc_shift};
        const cmsis_nn_dims id = {1, h, w, c};
        const cmsis_nn_dims fd = {1, 3, 3, c};
        const cmsis_nn_dims bd = {1, 1, 1, c};
        const cmsis_nn_dims od = {1, h, w, c};
        tic();
        st = (fp_status_t)arm_depthwise_conv_wrapper_s8(&ctx, &dp, &qp, &id, kc_in, &fd, kc_w, &bd, kc_bias, &od,
                                                        kc_out);
        n = toc();
        report(shape, "cmsis-nn", n, macs, n_out, st);
    }
#endif
}

static void bench_fc(const char *shape, int32_t depth, int32_t cout)
{
    fp_fully_connected_params_t p;
    const uint32_t macs = (uint32_t)(depth * cout);
    uint64_t n;
    fp_status_t st;
    memset(&p, 0, sizeof p);
    p.batches = 1;
    p.depth = depth;
    p.out_channels = cout;
    p.input_offset = IN_OFF;
    p.output_offset = OUT_OFF;
    p.act_min = -128;
    p.act_max = 127;
    fill(kc_in, depth);
    fill(kc_w, depth * cout);
    scales(cout);
    p.requant = requant(1);
    tic();
    st = fp_fully_connected_s8(&p, kc_in, kc_w, kc_bias, kc_ref, NULL);
    n = toc();
    memcpy(kc_out, kc_ref, (size_t)cout);
    report(shape, "reference", n, macs, cout, st);
    tic();
    st = fp_fully_connected_s8_dsp(&p, kc_in, kc_w, kc_bias, kc_out, NULL);
    n = toc();
    report(shape, "dsp", n, macs, cout, st);
#if defined(__ARM_FEATURE_MVE)
    memset(kc_out, 0x5A, (size_t)cout);
    tic();
    st = fp_fully_connected_s8_mve(&p, kc_in, kc_w, kc_bias, kc_out, kc_scratch);
    n = toc();
    report(shape, "mve", n, macs, cout, st);
#endif
#if KC_CMSIS
    {
        cmsis_nn_context ctx = {kc_scratch, (int32_t)sizeof kc_scratch};
        const cmsis_nn_fc_params fp = {IN_OFF, 0, OUT_OFF, {-128, 127}};
        const cmsis_nn_per_tensor_quant_params qp = {kc_mult[0], kc_shift[0]};
        const cmsis_nn_dims id = {1, 1, 1, depth};
        const cmsis_nn_dims fd = {depth, 1, 1, cout};
        const cmsis_nn_dims bd = {1, 1, 1, cout};
        const cmsis_nn_dims od = {1, 1, 1, cout};
        /* kernel sums: computed once at prepare time, as TFLite Micro does */
        if (arm_fully_connected_s8_get_buffer_size(&fd) > 0) {
            arm_vector_sum_s8((int32_t *)kc_scratch, depth, cout, kc_w, IN_OFF, 0, kc_bias);
        }
        tic();
        st = (fp_status_t)arm_fully_connected_s8(&ctx, &fp, &qp, &id, kc_in, &fd, kc_w, &bd, kc_bias, &od, kc_out);
        n = toc();
        report(shape, "cmsis-nn", n, macs, cout, st);
    }
#endif
}

int main(void)
{
    uint64_t t;
    fw_counter_init();
    t = fw_counter_start();
    kc_overhead = fw_counter_elapsed(t, fw_counter_now());
    bench_conv("conv3x3_16x16x16_16", 16, 16, 16, 16, 3, 1);
    bench_dw("dw3x3_32x32x32", 32, 32, 32);
    bench_conv("conv1x1_16x16x64_64", 16, 16, 64, 64, 1, 0);
    bench_fc("fc_256_128", 256, 128);
    /* the conv and fully connected layers of examples/models/cnn_bn_res */
    bench_conv("cnn_bn_res_stem", 16, 16, 1, 16, 3, 1);
    bench_conv("cnn_bn_res_b1_conv1", 16, 16, 16, 16, 3, 1);
    bench_conv("cnn_bn_res_b1_conv2", 16, 16, 16, 16, 3, 1);
    bench_conv("cnn_bn_res_b2_conv1", 8, 8, 16, 32, 3, 1);
    bench_conv("cnn_bn_res_b2_conv2", 8, 8, 32, 32, 3, 1);
    bench_conv("cnn_bn_res_b2_proj", 8, 8, 16, 32, 1, 0);
    bench_fc("cnn_bn_res_fc", 32, 10);
    return 0;
}
