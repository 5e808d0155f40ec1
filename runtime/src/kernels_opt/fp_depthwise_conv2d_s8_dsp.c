/*
 * fp_depthwise_conv2d_s8_dsp - fp_depthwise_conv2d_s8 with the Arm DSP
 * extension, bit-identical to it for every legal input.
 *
 * Depth multiplier 1: four channels at a time; per in-input tap one word of
 * input (SXTAB16 adds the offset to two lanes at once) and two words of
 * weights unpacked once per call into scratch (SXTB16), multiplied lane by
 * lane with SMLABB / SMLATT into four int32 sums. A full 3x3 window (every
 * interior pixel of a 3x3 layer) runs sums_3x3, 8 instructions per tap of
 * 4 MACs; border windows skip their padded taps as the reference does.
 * Tail channels and depth multipliers above 1 run a scalar int32 loop.
 * Epilogue: fp_dsp_apply with the per-channel constants tabled in scratch
 * once per call. Input offsets or windows outside fp_dsp_terms_ok, or a NULL
 * scratch where fp_depthwise_conv2d_s8_dsp_scratch_size() asks for one, run
 * the reference. Without the DSP extension this is fp_depthwise_conv2d_s8.
 */
#include "fp_runtime.h"
#include "../internal/fp_conv_common.h"
#include "../internal/fp_dsp.h"

#if FP_DSP_AVAILABLE

#include "../internal/fp_depthwise_conv2d_s8_dsp_body.h"

fp_status_t fp_depthwise_conv2d_s8_dsp(const fp_depthwise_conv2d_params_t *params,
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
        || (scratch == NULL && fp_depthwise_conv2d_s8_dsp_scratch_size(params) > 0)) {
        return fp_depthwise_conv2d_s8(params, input, filter, bias, output, scratch);
    }
    run(params, input, filter, bias, output, scratch);
    return FP_OK;
}

#else /* no DSP extension: the reference */

fp_status_t fp_depthwise_conv2d_s8_dsp(const fp_depthwise_conv2d_params_t *params,
                                       const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch)
{
    return fp_depthwise_conv2d_s8(params, input, filter, bias, output, scratch);
}

#endif
