/*
 * fp_lstm_s8 - integer LSTM over a whole sequence (one direction, batch 1),
 * TFLite's 8x8_16 arithmetic; params and layout in fp_types.h
 * (fp_lstm_params_t), exact semantics in docs/kernels.md "lstm".
 *
 * Per step, for gate q in (i, o, f, c) and unit k (row r = q * H + k):
 *   gate[r] = sat16(requant(bias[r] + W[r] . (x + input_offset), input_scale[q])
 *                 + requant(bias[4H + r] + R[r] . (h + hidden_offset), recurrent_scale[q]))
 *   i, o, f = sigmoid_lut(gate), g = tanh_lut(gate)            (Q0.15)
 *   c = clip(rdbpot(f * c, 15) + rdbpot(i * g, 30 - cell_frac_bits))
 *   h = clamp8(requant(o * cell_tanh_lut(c), hidden_scale) + output_offset)
 * All gates of a step are computed from the previous h before h changes.
 * scratch: fp_lstm_s8_scratch_size() bytes (h, c and the gates); with
 * params->state the step starts from, and leaves, the state stored there.
 */
#include <string.h>

#include "fp_runtime.h"
#include "../internal/fp_lstm.h"

static void fp_lstm_gates(const fp_lstm_params_t *p, const int8_t *x, const int8_t *h, const int8_t *weights,
                          const int32_t *bias, int16_t *gates)
{
    int32_t in = p->input_size;
    int32_t hid = p->hidden_size;
    int32_t r;
    for (r = 0; r < 4 * hid; ++r) {
        const int8_t *row = weights + (int64_t)r * (in + hid);
        int32_t q = r / hid;
        int32_t a = fp_lstm_dot(row, x, in, p->input_offset, bias[r]);
        int32_t b = fp_lstm_dot(row + in, h, hid, p->hidden_offset, bias[4 * hid + r]);
        int64_t sum = (int64_t)fp_requant32(a, p->input_scale[q].multiplier, p->input_scale[q].shift, p->mode) +
                      fp_requant32(b, p->recurrent_scale[q].multiplier, p->recurrent_scale[q].shift, p->mode);
        gates[r] = (int16_t)fp_clamp_s64(sum, FP_S16_MIN, FP_S16_MAX);
    }
}

static void fp_lstm_update(const fp_lstm_params_t *p, const int16_t *gates, int16_t *cell, int8_t *h)
{
    int32_t hid = p->hidden_size;
    int32_t k;
    for (k = 0; k < hid; ++k) {
        int32_t i = fp_lut_s16_elem(p->sigmoid_lut, gates[k]);
        int32_t o = fp_lut_s16_elem(p->sigmoid_lut, gates[hid + k]);
        int32_t f = fp_lut_s16_elem(p->sigmoid_lut, gates[2 * hid + k]);
        int32_t g = fp_lut_s16_elem(p->tanh_lut, gates[3 * hid + k]);
        int32_t c = fp_lstm_cell(p, f, i, g, cell[k]);
        int32_t t = fp_lut_s16_elem(p->cell_tanh_lut, c);
        int32_t v = fp_requant32(o * t, p->hidden_scale.multiplier, p->hidden_scale.shift, p->mode);
        cell[k] = (int16_t)c;
        h[k] = (int8_t)fp_clamp_s64((int64_t)v + p->output_offset, FP_S8_MIN, FP_S8_MAX);
    }
}

fp_status_t fp_lstm_s8(const fp_lstm_params_t *params, const int8_t *input, const int8_t *weights,
                       const int32_t *bias, int8_t *output, void *scratch)
{
    int16_t *cell;
    int16_t *gates;
    int8_t *h;
    int32_t hid;
    int32_t s;
    int32_t k;
    if (params == NULL || input == NULL || weights == NULL || bias == NULL || output == NULL || scratch == NULL ||
        !fp_lstm_params_valid(params)) {
        return FP_ERR_ARG;
    }
    hid = params->hidden_size;
    /* scratch layout: cell int16 [H], gates int16 [4H], h int8 [H] (int16 parts first: aligned) */
    cell = (int16_t *)scratch;
    gates = cell + hid;
    h = (int8_t *)(gates + 4 * hid);
    if (params->state != NULL) {
        /* streaming: continue from the persistent state (cell [H], then h [H]) and leave the final one there */
        cell = (int16_t *)params->state;
        h = (int8_t *)(cell + hid);
    } else {
        for (k = 0; k < hid; ++k) {
            cell[k] = 0;
            h[k] = (int8_t)fp_clamp_s64(-(int64_t)params->hidden_offset, FP_S8_MIN, FP_S8_MAX);
        }
    }
    for (s = 0; s < params->seq_len; ++s) {
        int32_t t = params->reverse ? params->seq_len - 1 - s : s;
        fp_lstm_gates(params, input + (int64_t)t * params->input_size, h, weights, bias, gates);
        fp_lstm_update(params, gates, cell, h);
        if (params->output_sequence) {
            memcpy(output + (int64_t)t * hid, h, (size_t)hid);
        }
    }
    if (!params->output_sequence) {
        memcpy(output, h, (size_t)hid);
    }
    return FP_OK;
}
