/*
 * fp_fully_connected_s8_opt - portable optimized int8 fully connected,
 * bit-identical to fp_fully_connected_s8.
 *
 * Blocks of FP_OPT_OC_BLOCK output channels share one pass over the input
 * row (fp_opt_dot4_s8: contiguous int32 multiply-adds compilers vectorise).
 * The int32 sum is exact when depth * reach(input_offset) *
 * reach(filter_offset) <= INT32_MAX (fp_opt_mac.h); otherwise every output
 * sums its terms (each fits int32) in int64, as the reference does.
 */
#include "fp_runtime.h"
#include "../internal/fp_fc_common.h"
#include "../internal/fp_opt_mac.h"

/* Every output in int64 (sums int32 cannot hold exactly). */
static void exact64(const fp_fully_connected_params_t *p, const int8_t *input, const int8_t *filter,
                    const int32_t *bias, int8_t *output)
{
    int32_t b;
    int32_t oc;
    int32_t d;
    for (b = 0; b < p->batches; ++b) {
        for (oc = 0; oc < p->out_channels; ++oc) {
            const int8_t *x = input + b * p->depth;
            const int8_t *w = filter + oc * p->depth;
            int64_t acc = 0;
            for (d = 0; d < p->depth; ++d) {
                acc += ((int32_t)x[d] + p->input_offset) * ((int32_t)w[d] + p->filter_offset);
            }
            output[b * p->out_channels + oc] = (int8_t)fp_mac_out_acc32(acc, bias, oc, &p->requant,
                                                                        p->output_offset, p->act_min,
                                                                        p->act_max);
        }
    }
}

fp_status_t fp_fully_connected_s8_opt(const fp_fully_connected_params_t *params,
                                      const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output, void *scratch)
{
    int32_t depth;
    int32_t c_out;
    int32_t b;
    int32_t oc;
    if (params == NULL || input == NULL || filter == NULL || output == NULL
        || !fp_fc_params_ok(params, FP_MAC_S8_INPUT_OFFSET_MIN, FP_MAC_S8_INPUT_OFFSET_MAX,
                                  INT32_MIN, INT32_MAX, INT8_MIN, INT8_MAX, 0)) {
        return FP_ERR_ARG;
    }
    depth = params->depth;
    c_out = params->out_channels;
    (void)scratch; /* fp_fully_connected_s8_opt_scratch_size() is 0 */
    if (!fp_opt_sum_fits_s32(depth, fp_s8_reach(params->input_offset),
                             fp_s8_reach(params->filter_offset))) {
        exact64(params, input, filter, bias, output);
        return FP_OK;
    }
    for (b = 0; b < params->batches; ++b) {
        const int8_t *x = input + b * depth;
        int8_t *out = output + b * c_out;
        for (oc = 0; oc < c_out;) {
            const int32_t nb = c_out - oc >= FP_OPT_OC_BLOCK ? FP_OPT_OC_BLOCK : 1;
            int32_t acc[FP_OPT_OC_BLOCK] = {0, 0, 0, 0};
            if (nb == FP_OPT_OC_BLOCK) {
                fp_opt_dot4_s8(x, filter + oc * depth, depth, depth, params->input_offset,
                               params->filter_offset, acc);
            } else {
                acc[0] = fp_opt_dot1_s8(x, filter + oc * depth, depth, params->input_offset,
                                        params->filter_offset);
            }
            fp_opt_out_block_s8(acc, nb, oc, bias, &params->requant, params->output_offset,
                                params->act_min, params->act_max, out + oc);
            oc += nb;
        }
    }
    return FP_OK;
}
