/*
 * fp_gru_s8 - integer GRU over a whole sequence (ONNX GRU with
 * linear_before_reset = 1, one direction, batch 1), in fp_lstm_s8's
 * arithmetic; params and layout in fp_types.h (fp_gru_params_t), exact
 * semantics in docs/kernels.md "gru".
 *
 * Per step, for gate q in (z, r, h) and unit k (row r = q * H + k):
 *   a[r] = requant(bias[r] + W[r] . (x + input_offset), input_scale[q])
 *   b[r] = requant(bias[3H + r] + R[r] . (h + hidden_offset), recurrent_scale[q])
 *   z, r = sigmoid_lut(sat16(a + b))                                     (Q0.15)
 *   n    = tanh_lut(sat16(a_h + rdbpot(r * sat16(b_h), 15)))              (Q0.15)
 *   h    = clamp8(requant(sat32((32768 - z) * n), hidden_scale)
 *                 + rdbpot(z * (h - zp), 15) + output_offset)
 * All gates of a step are computed from the previous h before h changes.
 * scratch: fp_gru_s8_scratch_size() bytes (h and the gates); with
 * params->state the step starts from, and leaves, the h stored there.
 */
#include <string.h>

#include "fp_runtime.h"
#include "../internal/fp_gru.h"

static int32_t fp_gru_side(const fp_gru_params_t *p, const int8_t *row, const int8_t *x, const int8_t *h,
                           const int32_t *bias, int32_t r, int32_t q, int recurrent)
{
    int32_t in = p->input_size;
    int32_t hid = p->hidden_size;
    if (recurrent) {
        int32_t acc = fp_lstm_dot(row + in, h, hid, p->hidden_offset, bias[3 * hid + r]);
        return fp_requant32(acc, p->recurrent_scale[q].multiplier, p->recurrent_scale[q].shift, p->mode);
    }
    return fp_requant32(fp_lstm_dot(row, x, in, p->input_offset, bias[r]), p->input_scale[q].multiplier,
                        p->input_scale[q].shift, p->mode);
}

/* gates[0..2H): z and r after the sigmoid; gates[2H..3H): the candidate n after the tanh */
static void fp_gru_gates(const fp_gru_params_t *p, const int8_t *x, const int8_t *h, const int8_t *weights,
                         const int32_t *bias, int16_t *gates)
{
    int32_t hid = p->hidden_size;
    int32_t width = p->input_size + hid;
    int32_t r;
    for (r = 0; r < 2 * hid; ++r) {
        const int8_t *row = weights + (int64_t)r * width;
        int32_t q = r / hid;
        int64_t sum = (int64_t)fp_gru_side(p, row, x, h, bias, r, q, 0) + fp_gru_side(p, row, x, h, bias, r, q, 1);
        gates[r] = (int16_t)fp_lut_s16_elem(p->sigmoid_lut, fp_clamp_s64(sum, FP_S16_MIN, FP_S16_MAX));
    }
    for (r = 2 * hid; r < 3 * hid; ++r) {
        const int8_t *row = weights + (int64_t)r * width;
        int32_t reset = gates[hid + (r - 2 * hid)];
        int32_t b = fp_clamp_s64(fp_gru_side(p, row, x, h, bias, r, 2, 1), FP_S16_MIN, FP_S16_MAX);
        int32_t gated = fp_rdbpot(reset * b, FP_LSTM_ACT_FRAC);
        int64_t sum = (int64_t)fp_gru_side(p, row, x, h, bias, r, 2, 0) + gated;
        gates[r] = (int16_t)fp_lut_s16_elem(p->tanh_lut, fp_clamp_s64(sum, FP_S16_MIN, FP_S16_MAX));
    }
}

static void fp_gru_update(const fp_gru_params_t *p, const int16_t *gates, int8_t *h)
{
    int32_t hid = p->hidden_size;
    int32_t zp = -p->hidden_offset;
    int32_t k;
    for (k = 0; k < hid; ++k) {
        int32_t z = gates[k];
        int32_t n = gates[2 * hid + k];
        int32_t fresh = fp_requant32(fp_sat_s32((int64_t)(32768 - z) * n), p->hidden_scale.multiplier,
                                     p->hidden_scale.shift, p->mode);
        int32_t kept = fp_rdbpot(z * ((int32_t)h[k] - zp), FP_LSTM_ACT_FRAC);
        h[k] = (int8_t)fp_clamp_s64((int64_t)fresh + kept + p->output_offset, FP_S8_MIN, FP_S8_MAX);
    }
}

fp_status_t fp_gru_s8(const fp_gru_params_t *params, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, int8_t *output, void *scratch)
{
    int16_t *gates;
    int8_t *h;
    int32_t hid;
    int32_t s;
    int32_t k;
    if (params == NULL || input == NULL || weights == NULL || bias == NULL || output == NULL || scratch == NULL ||
        !fp_gru_params_valid(params)) {
        return FP_ERR_ARG;
    }
    hid = params->hidden_size;
    gates = (int16_t *)scratch; /* gates int16 [3H], then h int8 [H] */
    h = (int8_t *)(gates + 3 * hid);
    if (params->state != NULL) {
        h = (int8_t *)params->state; /* streaming: continue from the persistent h, leave the final one */
    } else {
        for (k = 0; k < hid; ++k) {
            h[k] = (int8_t)fp_clamp_s64(-(int64_t)params->hidden_offset, FP_S8_MIN, FP_S8_MAX);
        }
    }
    for (s = 0; s < params->seq_len; ++s) {
        int32_t t = params->reverse ? params->seq_len - 1 - s : s;
        fp_gru_gates(params, input + (int64_t)t * params->input_size, h, weights, bias, gates);
        fp_gru_update(params, gates, h);
        if (params->output_sequence) {
            memcpy(output + (int64_t)t * hid, h, (size_t)hid);
        }
    }
    if (!params->output_sequence) {
        memcpy(output, h, (size_t)hid);
    }
    return FP_OK;
}
