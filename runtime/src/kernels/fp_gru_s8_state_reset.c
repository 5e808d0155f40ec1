/* fp_gru_s8_state_reset - write the initial state of a streaming fp_gru_s8
 * into params->state: h int8 [H] = the h zero point (real 0), the state the
 * whole-sequence kernel starts from. */
#include "fp_runtime.h"
#include "../internal/fp_gru.h"

fp_status_t fp_gru_s8_state_reset(const fp_gru_params_t *params)
{
    int8_t *h;
    int32_t k;
    if (params == NULL || params->state == NULL || !fp_lstm_dim_ok(params->hidden_size) ||
        !fp_lstm_offset_ok(params->hidden_offset)) {
        return FP_ERR_ARG;
    }
    h = (int8_t *)params->state;
    for (k = 0; k < params->hidden_size; ++k) {
        h[k] = (int8_t)fp_clamp_s64(-(int64_t)params->hidden_offset, FP_S8_MIN, FP_S8_MAX);
    }
    return FP_OK;
}
