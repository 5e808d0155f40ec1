/*
 * fp_fully_connected_s8_dsp_fast - the fast path of fp_fully_connected_s8_dsp
 * alone, for layers whose parameters the code generator proved inside it
 * (generation-time specialisation, docs/kernels.md "Specialised entries"):
 * filter_offset 0, input_offset in [-127, 128], a depth within
 * fp_dsp_terms_ok, DOUBLE rounding with no left shift (fp_dsp_rq_fast_ok).
 * For such calls its output is bit-identical to fp_fully_connected_s8's.
 *
 * It never calls the reference, so a firmware that names it links neither
 * fp_fully_connected_s8 nor the generic requantization: outside the
 * precondition it writes nothing and returns FP_ERR_UNSUPPORTED (invalid
 * parameters: FP_ERR_ARG, as the reference). No scratch. Without the DSP
 * extension it is fp_fully_connected_s8 (the reference).
 */
#include "fp_runtime.h"
#include "../internal/fp_fc_common.h"
#include "../internal/fp_dsp.h"

#if FP_DSP_AVAILABLE

#define FP_DSP_FAST_ONLY 1
#include "../internal/fp_fully_connected_s8_dsp_body.h"

fp_status_t fp_fully_connected_s8_dsp_fast(const fp_fully_connected_params_t *params,
                                           const int8_t *input, const int8_t *filter,
                                           const int32_t *bias, int8_t *output, void *scratch)
{
    (void)scratch;
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_fc_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                            INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (params->filter_offset != 0 || !fp_dsp_terms_ok(params->input_offset, params->depth)
        || !fp_dsp_rq_fast_ok(&params->requant)) {
        return FP_ERR_UNSUPPORTED;
    }
    run(params, input, filter, bias, output);
    return FP_OK;
}

#else /* no DSP extension: the reference */

fp_status_t fp_fully_connected_s8_dsp_fast(const fp_fully_connected_params_t *params,
                                           const int8_t *input, const int8_t *filter,
                                           const int32_t *bias, int8_t *output, void *scratch)
{
    return fp_fully_connected_s8(params, input, filter, bias, output, scratch);
}

#endif
