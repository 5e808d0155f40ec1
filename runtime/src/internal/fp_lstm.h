/*
 * fp_lstm.h - parameter checks and per-step arithmetic of the integer LSTM
 * (fp_lstm_s8; docs/kernels.md "lstm"; Python reference
 * sdk/fixpoint/reference/lstm.py).
 *
 * Every product and sum is formed in int64 and saturated before it narrows,
 * so no parameter value causes undefined behaviour.
 */
#ifndef FP_LSTM_H
#define FP_LSTM_H

#include "fp_types.h"
#include "fp_requant.h"
#include "fp_misc_check.h"
#include "fp_lut.h"

/* Offsets of int8 zero points: TFLite gives [-128, 128]; a little slack. */
#define FP_LSTM_OFFSET_LIMIT 256
/* Elements of a sequence or a matrix row the kernel accepts (sums stay far below 2^62). */
#define FP_LSTM_DIM_LIMIT (1 << 20)
/* Gates are int16 with scale 2^-12 (Q3.12); sigmoid / tanh tables give Q0.15. */
#define FP_LSTM_GATE_FRAC 12
#define FP_LSTM_ACT_FRAC 15

static inline int fp_lstm_offset_ok(int32_t off)
{
    return off >= -FP_LSTM_OFFSET_LIMIT && off <= FP_LSTM_OFFSET_LIMIT;
}

static inline int fp_lstm_dim_ok(int32_t d)
{
    return d >= 1 && d <= FP_LSTM_DIM_LIMIT;
}

static inline int fp_lstm_params_valid(const fp_lstm_params_t *p)
{
    int32_t g;
    if (!fp_lstm_dim_ok(p->seq_len) || !fp_lstm_dim_ok(p->input_size) || !fp_lstm_dim_ok(p->hidden_size) ||
        (int64_t)p->hidden_size * 4 > FP_LSTM_DIM_LIMIT ||
        (int64_t)p->seq_len * p->input_size > FP_LSTM_DIM_LIMIT * (int64_t)64 ||
        (int64_t)p->seq_len * p->hidden_size > FP_LSTM_DIM_LIMIT * (int64_t)64) {
        return 0;
    }
    if (!fp_lstm_offset_ok(p->input_offset) || !fp_lstm_offset_ok(p->hidden_offset) ||
        !fp_lstm_offset_ok(p->output_offset) || !fp_mode_valid(p->mode)) {
        return 0;
    }
    for (g = 0; g < 4; ++g) {
        if (!fp_scale32_valid(p->input_scale[g], p->mode) || !fp_scale32_valid(p->recurrent_scale[g], p->mode)) {
            return 0;
        }
    }
    return fp_scale32_valid(p->hidden_scale, p->mode) && p->cell_frac_bits >= 0 && p->cell_frac_bits <= 15 &&
           p->cell_clip >= 0 && p->cell_clip <= FP_S16_MAX && (p->output_sequence == 0 || p->output_sequence == 1) &&
           (p->reverse == 0 || p->reverse == 1) && p->sigmoid_lut != NULL && p->tanh_lut != NULL &&
           p->cell_tanh_lut != NULL;
}

/* bias + sum_j w[j] * (v[j] + offset), saturated to int32. */
static inline int32_t fp_lstm_dot(const int8_t *w, const int8_t *v, int32_t n, int32_t offset, int32_t bias)
{
    int64_t acc = bias;
    int32_t j;
    for (j = 0; j < n; ++j) {
        acc += (int64_t)w[j] * ((int64_t)v[j] + offset);
    }
    return fp_sat_s32(acc);
}

/* The new cell value of one unit: f * c + i * g at the cell scale, clipped. */
static inline int32_t fp_lstm_cell(const fp_lstm_params_t *p, int32_t f, int32_t i, int32_t g, int32_t c)
{
    int32_t kept = fp_rdbpot(fp_sat_s32((int64_t)f * c), FP_LSTM_ACT_FRAC);
    int32_t added = fp_rdbpot(fp_sat_s32((int64_t)i * g), 2 * FP_LSTM_ACT_FRAC - p->cell_frac_bits);
    int32_t lim = p->cell_clip > 0 ? p->cell_clip : FP_S16_MAX;
    int32_t lo = p->cell_clip > 0 ? -p->cell_clip : FP_S16_MIN;
    return fp_clamp_s64((int64_t)kept + added, lo, lim);
}

#endif /* FP_LSTM_H */
