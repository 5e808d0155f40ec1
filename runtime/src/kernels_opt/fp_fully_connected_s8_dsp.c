/*
 * fp_fully_connected_s8_dsp - fp_fully_connected_s8 with the Arm DSP
 * extension, bit-identical to it for every legal input.
 *
 * Four weight rows per pass over the input vector (fp_dsp_dot_4x1): the
 * input is unpacked once per 4 terms with the offset added by SXTAB16 and
 * feeds eight SMLADs; the last c_out % 4 rows go two at a time
 * (fp_dsp_dot_2x1), an odd last row paired with itself. Epilogue: fp_dsp_out. A nonzero filter offset, or an input offset
 * or depth outside fp_dsp_terms_ok, runs the reference. No scratch
 * (fp_fully_connected_s8_dsp_scratch_size() is 0).
 * Without the DSP extension this is fp_fully_connected_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_fc_common.h"
#include "../internal/fp_dsp.h"

#if FP_DSP_AVAILABLE

#include "../internal/fp_fully_connected_s8_dsp_body.h"

fp_status_t fp_fully_connected_s8_dsp(const fp_fully_connected_params_t *params,
                                      const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output, void *scratch)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_fc_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                            INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (params->filter_offset != 0 || !fp_dsp_terms_ok(params->input_offset, params->depth)) {
        return fp_fully_connected_s8(params, input, filter, bias, output, scratch);
    }
    run(params, input, filter, bias, output);
    return FP_OK;
}

#else /* no DSP extension: the reference */

fp_status_t fp_fully_connected_s8_dsp(const fp_fully_connected_params_t *params,
                                      const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output, void *scratch)
{
    return fp_fully_connected_s8(params, input, filter, bias, output, scratch);
}

#endif
