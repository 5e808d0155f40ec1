/* fp_lstm_s8_scratch_size - the state of fp_lstm_s8: cell int16 [H], gates
 * int16 [4H], h int8 [H]; 0 for invalid params (the kernel rejects them). */
#include "fp_runtime.h"
#include "../internal/fp_lstm.h"

size_t fp_lstm_s8_scratch_size(const fp_lstm_params_t *params)
{
    if (params == NULL || !fp_lstm_dim_ok(params->hidden_size) || params->hidden_size > FP_LSTM_DIM_LIMIT / 4) {
        return 0;
    }
    return (size_t)params->hidden_size * (5 * sizeof(int16_t) + sizeof(int8_t));
}
