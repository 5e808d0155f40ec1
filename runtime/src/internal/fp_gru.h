/*
 * fp_gru.h - parameter checks of the integer GRU (fp_gru_s8; docs/kernels.md
 * "gru"; Python reference sdk/fixpoint/reference/gru.py). The dot products
 * and limits are the LSTM's (fp_lstm.h).
 */
#ifndef FP_GRU_H
#define FP_GRU_H

#include "fp_lstm.h"

static inline int fp_gru_params_valid(const fp_gru_params_t *p)
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
    for (g = 0; g < 3; ++g) {
        if (!fp_scale32_valid(p->input_scale[g], p->mode) || !fp_scale32_valid(p->recurrent_scale[g], p->mode)) {
            return 0;
        }
    }
    return fp_scale32_valid(p->hidden_scale, p->mode) && (p->output_sequence == 0 || p->output_sequence == 1) &&
           (p->reverse == 0 || p->reverse == 1) && p->sigmoid_lut != NULL && p->tanh_lut != NULL;
}

#endif /* FP_GRU_H */
