/*
 * fp_depthwise_conv2d_s8_dsp_fast - the fast path of fp_depthwise_conv2d_s8_dsp
 * alone, for layers whose parameters the code generator proved inside it
 * (generation-time specialisation, docs/kernels.md "Specialised entries"):
 * input_offset in [-127, 128], a window within fp_dsp_terms_ok, DOUBLE
 * rounding with no left shift (fp_dsp_rq_fast_ok), and the scratch of
 * fp_depthwise_conv2d_s8_dsp_fast_scratch_size() where it asks for one. For
 * such calls its output is bit-identical to fp_depthwise_conv2d_s8's.
 *
 * It never calls the reference, so a firmware that names it links neither
 * fp_depthwise_conv2d_s8 nor the generic requantization: outside the
 * precondition it writes nothing and returns FP_ERR_UNSUPPORTED (invalid
 * parameters: FP_ERR_ARG, as the reference). Without the DSP extension it is
 * fp_depthwise_conv2d_s8 (the reference).
 */
#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"
#include "../internal/fp_dsp.h"

#if FP_DSP_AVAILABLE

#define FP_DSP_FAST_ONLY 1
#include "../internal/fp_depthwise_conv2d_s8_dsp_body.h"

fp_status_t fp_depthwise_conv2d_s8_dsp_fast(const fp_depthwise_conv2d_params_t *params,
                                            const int8_t *input, const int8_t *filter,
                                            const int32_t *bias, int8_t *output, void *scratch)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_depthwise_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN,
                                   FP_MAC_S8_INPUT_OFFSET_MAX, INT32_MIN, INT32_MAX, INT8_MIN,
                                   INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (!fp_dsp_terms_ok(params->input_offset, (int64_t)params->filter.h * params->filter.w)
        || (scratch == NULL && fp_dsp_depthwise_scratch_bytes(params) > 0)
        || !fp_dsp_rq_fast_ok(&params->requant)) {
        return FP_ERR_UNSUPPORTED;
    }
    run(params, input, filter, bias, output, scratch);
    return FP_OK;
}

#else /* no DSP extension: the reference */

fp_status_t fp_depthwise_conv2d_s8_dsp_fast(const fp_depthwise_conv2d_params_t *params,
                                            const int8_t *input, const int8_t *filter,
                                            const int32_t *bias, int8_t *output, void *scratch)
{
    return fp_depthwise_conv2d_s8(params, input, filter, bias, output, scratch);
}

#endif
