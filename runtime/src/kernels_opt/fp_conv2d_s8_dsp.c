/*
 * fp_conv2d_s8_dsp - fp_conv2d_s8 with the Arm DSP extension (SXTAB16 /
 * SXTB16 / SMLAD), bit-identical to it for every legal input.
 *
 * Two output pixels at a time: their input windows (im2col) are packed into
 * scratch as int16 pairs with the input offset already added (padded taps are
 * zero there, which is what the reference's skipped taps contribute); then
 * every pair of output channels runs fp_dsp_dot_2x2, 8 MACs per 4 SMLADs.
 * An odd last pixel or channel runs the same kernel with a zero column or a
 * repeated weight row whose results are dropped. Epilogue: fp_dsp_out.
 * Scratch: fp_conv2d_s8_dsp_scratch_size(); without it (NULL), or outside the
 * fast path's ranges (fp_dsp_terms_ok), the reference runs.
 * Without the DSP extension this is fp_conv2d_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"
#include "../internal/fp_dsp.h"

#if FP_DSP_AVAILABLE

#include "../internal/fp_conv2d_s8_dsp_body.h"

fp_status_t fp_conv2d_s8_dsp(const fp_conv2d_params_t *params, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output,
                             void *scratch)
{
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_conv2d_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    if (scratch == NULL || fp_conv2d_s8_dsp_scratch_size(params) == 0
        || !fp_dsp_terms_ok(params->input_offset, 0)) {
        return fp_conv2d_s8(params, input, filter, bias, output, scratch);
    }
    run(params, input, filter, bias, output, scratch);
    return FP_OK;
}

#else /* no DSP extension: the reference */

fp_status_t fp_conv2d_s8_dsp(const fp_conv2d_params_t *params, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output,
                             void *scratch)
{
    return fp_conv2d_s8(params, input, filter, bias, output, scratch);
}

#endif
