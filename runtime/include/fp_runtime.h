/*
 * fp_runtime.h - public API of the Fixpoint reference integer runtime.
 *
 * One function per file in runtime/src/kernels/, named op_type_variant:
 *   s8  = int8 activations, int8 weights, int32 bias
 *   s4  = int8 activations, packed int4 weights (element 2k in the low nibble
 *         of byte k, element 2k+1 in the high nibble; a final odd element
 *         leaves the high nibble 0), int32 bias
 *   s2  = int8 activations, packed 2-bit ternary weights (element k in bits
 *         2*(k%4)..2*(k%4)+1 of byte k/4, two's complement: 01 = +1, 11 = -1,
 *         00 = 0, 10 = -2), int32 bias; conv2d / depthwise / fully connected
 *   s1  = int8 activations, packed 1-bit binary weights (element k is bit k%8
 *         of byte k/8: 1 = +1, 0 = -1), int32 bias; conv2d / depthwise / fully
 *         connected. Unused bits of the last byte are 0 (fp_lowbit.h).
 *   s16 = int16 activations with zero point 0, int8 weights, int64 bias
 *         (TFLite's 16x8 path for an int64 bias: int64 accumulator, the
 *         multiplier reduced to Q15, fp_requantize_acc64)
 *   s16_acc32 = the same tensors with an int32 bias (or none): TFLite's 16x8
 *         path for an int32 or absent bias (sum saturated to int32, full Q31
 *         multiplier, fp_requantize_acc32; shifts in the 32-bit ranges)
 *
 * Common rules for every kernel:
 *   - all pointers are caller-owned; inputs are read-only; output must not
 *     alias any input unless stated;
 *   - tensors are dense, NHWC, with the dims given in the params struct;
 *   - returns FP_OK, or FP_ERR_ARG when a parameter is outside its legal range
 *     (shift outside the mode's range, non-positive dims, act_min > act_max,
 *     inconsistent dims); nothing is written on error; no input triggers
 *     undefined behaviour;
 *   - kernels that take scratch have a *_scratch_size() twin returning the
 *     bytes needed (possibly 0); scratch may be NULL when that is 0.
 * Requantization modes and legal shift ranges: docs/rounding.md.
 */
#ifndef FP_RUNTIME_H
#define FP_RUNTIME_H

#include "fp_types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* FP_CDEF_BEGIN */

/* ---- requantization primitive (exposed for conformance tests) ---------- */

/* Scale one 32-bit accumulator: returns requant(acc, multiplier, shift) in
 * the given mode, saturated to int32. */
int32_t fp_requantize_acc32(int32_t acc, int32_t multiplier, int32_t shift, fp_rq_mode_t mode);
/* Scale one 64-bit accumulator (s16 datapath): TFLite's int64 path. */
int32_t fp_requantize_acc64(int64_t acc, int32_t multiplier, int32_t shift, fp_rq_mode_t mode);

/* ---- conv2d: input [N,H,W,C_in], filter OHWI, bias [C_out] ------------- */
fp_status_t fp_conv2d_s8(const fp_conv2d_params_t *params, const int8_t *input,
                         const int8_t *filter, const int32_t *bias, int8_t *output,
                         void *scratch);
size_t fp_conv2d_s8_scratch_size(const fp_conv2d_params_t *params);
/* fp_conv2d_s8_dsp: fp_conv2d_s8's signature, ranges and results (bit-identical)
 * with the Arm DSP extension; scratch: fp_conv2d_s8_dsp_scratch_size() bytes
 * (NULL scratch runs the reference). Without the extension it is fp_conv2d_s8. */
fp_status_t fp_conv2d_s8_dsp(const fp_conv2d_params_t *params, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output,
                             void *scratch);
size_t fp_conv2d_s8_dsp_scratch_size(const fp_conv2d_params_t *params);
/* fp_conv2d_s8_mve: fp_conv2d_s8 with Helium (MVE, Cortex-M55); same signature,
 * ranges, errors and bit-identical output; scratch: fp_conv2d_s8_mve_scratch_size()
 * bytes (NULL runs the reference). Without MVE it is fp_conv2d_s8. */
fp_status_t fp_conv2d_s8_mve(const fp_conv2d_params_t *params, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output,
                             void *scratch);
size_t fp_conv2d_s8_mve_scratch_size(const fp_conv2d_params_t *params);
/* fp_conv2d_s8_dsp_fast: fp_conv2d_s8_dsp's fast path alone, for layers the code
 * generator proved inside it (input_offset in [-127, 128], the window within
 * int32 partial sums, DOUBLE rounding without left shifts, scratch given):
 * bit-identical to fp_conv2d_s8 there, FP_ERR_UNSUPPORTED (nothing written)
 * for other legal parameters; links no reference kernel. Without the DSP
 * extension it is fp_conv2d_s8. */
fp_status_t fp_conv2d_s8_dsp_fast(const fp_conv2d_params_t *params, const int8_t *input,
                                  const int8_t *filter, const int32_t *bias, int8_t *output,
                                  void *scratch);
size_t fp_conv2d_s8_dsp_fast_scratch_size(const fp_conv2d_params_t *params);
/* fp_conv2d_s8_opt: the portable optimized variant (runtime/src/kernels_opt/): same
 * parameters, ranges, errors and bit-identical output as fp_conv2d_s8. */
fp_status_t fp_conv2d_s8_opt(const fp_conv2d_params_t *params, const int8_t *input,
                             const int8_t *filter, const int32_t *bias, int8_t *output,
                             void *scratch);
size_t fp_conv2d_s8_opt_scratch_size(const fp_conv2d_params_t *params);
fp_status_t fp_conv2d_s4(const fp_conv2d_params_t *params, const int8_t *input,
                         const int8_t *packed_filter, const int32_t *bias, int8_t *output,
                         void *scratch);
size_t fp_conv2d_s4_scratch_size(const fp_conv2d_params_t *params);
fp_status_t fp_conv2d_s2(const fp_conv2d_params_t *params, const int8_t *input,
    const int8_t *packed_filter, const int32_t *bias, int8_t *output, void *scratch);
size_t fp_conv2d_s2_scratch_size(const fp_conv2d_params_t *params);
fp_status_t fp_conv2d_s1(const fp_conv2d_params_t *params, const int8_t *input,
    const int8_t *packed_filter, const int32_t *bias, int8_t *output, void *scratch);
size_t fp_conv2d_s1_scratch_size(const fp_conv2d_params_t *params);
fp_status_t fp_conv2d_s16(const fp_conv2d_params_t *params, const int16_t *input,
                          const int8_t *filter, const int64_t *bias, int16_t *output,
                          void *scratch);
size_t fp_conv2d_s16_scratch_size(const fp_conv2d_params_t *params);
/* input_offset = output_offset = 0; bias int32 [C_out] or NULL; requant legal
 * for 32-bit accumulators; act_min/act_max in int16. */
fp_status_t fp_conv2d_s16_acc32(const fp_conv2d_params_t *params, const int16_t *input,
                                const int8_t *filter, const int32_t *bias, int16_t *output,
                                void *scratch);
size_t fp_conv2d_s16_acc32_scratch_size(const fp_conv2d_params_t *params);

/* ---- depthwise conv2d: filter [1,KH,KW,C_out] -------------------------- */
fp_status_t fp_depthwise_conv2d_s8(const fp_depthwise_conv2d_params_t *params,
                                   const int8_t *input, const int8_t *filter,
                                   const int32_t *bias, int8_t *output, void *scratch);
size_t fp_depthwise_conv2d_s8_scratch_size(const fp_depthwise_conv2d_params_t *params);
/* fp_depthwise_conv2d_s8_dsp: fp_depthwise_conv2d_s8 with the Arm DSP extension
 * (same signature, ranges, results; no scratch). */
fp_status_t fp_depthwise_conv2d_s8_dsp(const fp_depthwise_conv2d_params_t *params,
                                       const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch);
size_t fp_depthwise_conv2d_s8_dsp_scratch_size(const fp_depthwise_conv2d_params_t *params);
/* fp_depthwise_conv2d_s8_mve: fp_depthwise_conv2d_s8 with Helium (MVE); scratch:
 * fp_depthwise_conv2d_s8_mve_scratch_size() bytes (NULL runs the reference). */
fp_status_t fp_depthwise_conv2d_s8_mve(const fp_depthwise_conv2d_params_t *params,
                                       const int8_t *input, const int8_t *filter,
                                       const int32_t *bias, int8_t *output, void *scratch);
size_t fp_depthwise_conv2d_s8_mve_scratch_size(const fp_depthwise_conv2d_params_t *params);
/* fp_depthwise_conv2d_s8_dsp_fast: fp_depthwise_conv2d_s8_dsp's fast path alone
 * (input_offset in [-127, 128], the window within int32 partial sums, DOUBLE
 * rounding without left shifts, scratch given where asked): bit-identical to
 * fp_depthwise_conv2d_s8 there, FP_ERR_UNSUPPORTED (nothing written)
 * otherwise; links no reference kernel. Without the DSP extension it is the
 * reference. */
fp_status_t fp_depthwise_conv2d_s8_dsp_fast(const fp_depthwise_conv2d_params_t *params,
                                            const int8_t *input, const int8_t *filter,
                                            const int32_t *bias, int8_t *output, void *scratch);
size_t fp_depthwise_conv2d_s8_dsp_fast_scratch_size(const fp_depthwise_conv2d_params_t *params);
/* fp_depthwise_conv2d_s8_opt: the portable optimized variant (runtime/src/kernels_opt/): same
 * parameters, ranges, errors and bit-identical output as fp_depthwise_conv2d_s8. */
fp_status_t fp_depthwise_conv2d_s8_opt(const fp_depthwise_conv2d_params_t *params, const int8_t *input,
                                       const int8_t *filter, const int32_t *bias, int8_t *output,
                                       void *scratch);
size_t fp_depthwise_conv2d_s8_opt_scratch_size(const fp_depthwise_conv2d_params_t *params);
fp_status_t fp_depthwise_conv2d_s4(const fp_depthwise_conv2d_params_t *params,
                                   const int8_t *input, const int8_t *packed_filter,
                                   const int32_t *bias, int8_t *output, void *scratch);
size_t fp_depthwise_conv2d_s4_scratch_size(const fp_depthwise_conv2d_params_t *params);
fp_status_t fp_depthwise_conv2d_s2(const fp_depthwise_conv2d_params_t *params, const int8_t *input,
    const int8_t *packed_filter, const int32_t *bias, int8_t *output, void *scratch);
size_t fp_depthwise_conv2d_s2_scratch_size(const fp_depthwise_conv2d_params_t *params);
fp_status_t fp_depthwise_conv2d_s1(const fp_depthwise_conv2d_params_t *params, const int8_t *input,
    const int8_t *packed_filter, const int32_t *bias, int8_t *output, void *scratch);
size_t fp_depthwise_conv2d_s1_scratch_size(const fp_depthwise_conv2d_params_t *params);
fp_status_t fp_depthwise_conv2d_s16(const fp_depthwise_conv2d_params_t *params,
                                    const int16_t *input, const int8_t *filter,
                                    const int64_t *bias, int16_t *output, void *scratch);
size_t fp_depthwise_conv2d_s16_scratch_size(const fp_depthwise_conv2d_params_t *params);
/* ranges as fp_conv2d_s16_acc32 */
fp_status_t fp_depthwise_conv2d_s16_acc32(const fp_depthwise_conv2d_params_t *params,
                                          const int16_t *input, const int8_t *filter,
                                          const int32_t *bias, int16_t *output, void *scratch);
size_t fp_depthwise_conv2d_s16_acc32_scratch_size(const fp_depthwise_conv2d_params_t *params);

/* ---- transposed conv2d: filter OHWI [C_out, KH, KW, C_in / groups] ---- */
/* dims >= 1 with counts <= 2^31 - 1, output.n = input.n, output.c = filter.n,
 * groups >= 1 dividing input.c and filter.n, filter.c = input.c / groups
 * (groups = C_in = C_out: depthwise); strides, dilations >= 1,
 * pad_top / pad_left >= 0 (the
 * cropped start of the full output); requant n = 1 or C_out, legal for the
 * datapath's accumulator (docs/rounding.md); s8 / s4: input_offset in
 * [-16777087, 16777088], any int32 output_offset, act range in int8, int32
 * bias or NULL; s16: offsets 0, act range in int16, int64 bias or NULL.
 * Scratch: 0 bytes (s8, s16), KH * KW * C_in / groups bytes (s4). */
fp_status_t fp_transpose_conv2d_s8(const fp_transpose_conv2d_params_t *params, const int8_t *input,
                                   const int8_t *filter, const int32_t *bias, int8_t *output,
                                   void *scratch);
size_t fp_transpose_conv2d_s8_scratch_size(const fp_transpose_conv2d_params_t *params);
fp_status_t fp_transpose_conv2d_s4(const fp_transpose_conv2d_params_t *params, const int8_t *input,
                                   const int8_t *packed_filter, const int32_t *bias, int8_t *output,
                                   void *scratch);
size_t fp_transpose_conv2d_s4_scratch_size(const fp_transpose_conv2d_params_t *params);
fp_status_t fp_transpose_conv2d_s16(const fp_transpose_conv2d_params_t *params, const int16_t *input,
                                    const int8_t *filter, const int64_t *bias, int16_t *output,
                                    void *scratch);
size_t fp_transpose_conv2d_s16_scratch_size(const fp_transpose_conv2d_params_t *params);

/* ---- fully connected: input [batches, depth], filter [C_out, depth] ---- */
fp_status_t fp_fully_connected_s8(const fp_fully_connected_params_t *params,
                                  const int8_t *input, const int8_t *filter,
                                  const int32_t *bias, int8_t *output, void *scratch);
size_t fp_fully_connected_s8_scratch_size(const fp_fully_connected_params_t *params);
/* fp_fully_connected_s8_dsp: fp_fully_connected_s8 with the Arm DSP extension
 * (same signature, ranges, results; no scratch). */
fp_status_t fp_fully_connected_s8_dsp(const fp_fully_connected_params_t *params,
                                      const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output, void *scratch);
size_t fp_fully_connected_s8_dsp_scratch_size(const fp_fully_connected_params_t *params);
/* fp_fully_connected_s8_mve: fp_fully_connected_s8 with Helium (MVE); scratch:
 * fp_fully_connected_s8_mve_scratch_size() bytes (NULL runs the reference). */
fp_status_t fp_fully_connected_s8_mve(const fp_fully_connected_params_t *params,
                                      const int8_t *input, const int8_t *filter,
                                      const int32_t *bias, int8_t *output, void *scratch);
size_t fp_fully_connected_s8_mve_scratch_size(const fp_fully_connected_params_t *params);
/* fp_fully_connected_s8_dsp_fast: fp_fully_connected_s8_dsp's fast path alone
 * (filter_offset 0, input_offset in [-127, 128], depth within int32 partial
 * sums, DOUBLE rounding without left shifts): bit-identical to
 * fp_fully_connected_s8 there, FP_ERR_UNSUPPORTED (nothing written) otherwise;
 * links no reference kernel. Without the DSP extension it is the reference. */
fp_status_t fp_fully_connected_s8_dsp_fast(const fp_fully_connected_params_t *params,
                                           const int8_t *input, const int8_t *filter,
                                           const int32_t *bias, int8_t *output, void *scratch);
size_t fp_fully_connected_s8_dsp_fast_scratch_size(const fp_fully_connected_params_t *params);
/* fp_fully_connected_s8_opt: the portable optimized variant (runtime/src/kernels_opt/): same
 * parameters, ranges, errors and bit-identical output as fp_fully_connected_s8. */
fp_status_t fp_fully_connected_s8_opt(const fp_fully_connected_params_t *params, const int8_t *input,
                                      const int8_t *filter, const int32_t *bias, int8_t *output,
                                      void *scratch);
size_t fp_fully_connected_s8_opt_scratch_size(const fp_fully_connected_params_t *params);
fp_status_t fp_fully_connected_s4(const fp_fully_connected_params_t *params,
                                  const int8_t *input, const int8_t *packed_filter,
                                  const int32_t *bias, int8_t *output, void *scratch);
size_t fp_fully_connected_s4_scratch_size(const fp_fully_connected_params_t *params);
fp_status_t fp_fully_connected_s2(const fp_fully_connected_params_t *params, const int8_t *input,
    const int8_t *packed_filter, const int32_t *bias, int8_t *output, void *scratch);
size_t fp_fully_connected_s2_scratch_size(const fp_fully_connected_params_t *params);
fp_status_t fp_fully_connected_s1(const fp_fully_connected_params_t *params, const int8_t *input,
    const int8_t *packed_filter, const int32_t *bias, int8_t *output, void *scratch);
size_t fp_fully_connected_s1_scratch_size(const fp_fully_connected_params_t *params);
fp_status_t fp_fully_connected_s16(const fp_fully_connected_params_t *params,
                                   const int16_t *input, const int8_t *filter,
                                   const int64_t *bias, int16_t *output, void *scratch);
size_t fp_fully_connected_s16_scratch_size(const fp_fully_connected_params_t *params);
/* ranges as fp_conv2d_s16_acc32; filter_offset as fp_fully_connected_s16 */
fp_status_t fp_fully_connected_s16_acc32(const fp_fully_connected_params_t *params,
                                         const int16_t *input, const int8_t *filter,
                                         const int32_t *bias, int16_t *output, void *scratch);
size_t fp_fully_connected_s16_acc32_scratch_size(const fp_fully_connected_params_t *params);

/* ---- elementwise -------------------------------------------------------- */
fp_status_t fp_add_s8(const fp_add_params_t *params, const int8_t *input1,
                      const int8_t *input2, int8_t *output);
/* fp_add_s8_dsp: fp_add_s8 with the Arm DSP extension: same parameters, ranges,
 * errors and bit-identical output. Without the extension it is fp_add_s8. */
fp_status_t fp_add_s8_dsp(const fp_add_params_t *params, const int8_t *input1,
                          const int8_t *input2, int8_t *output);
/* fp_add_s8_opt: the portable optimized variant (runtime/src/kernels_opt/):
 * same parameters, ranges, errors and bit-identical output as fp_add_s8. */
fp_status_t fp_add_s8_opt(const fp_add_params_t *params, const int8_t *input1,
                          const int8_t *input2, int8_t *output);
/* fp_add_s8_mve: fp_add_s8 with Helium (MVE, Cortex-M55); same parameters, ranges,
 * errors and bit-identical output. Without MVE it is fp_add_s8. */
fp_status_t fp_add_s8_mve(const fp_add_params_t *params, const int8_t *input1,
                          const int8_t *input2, int8_t *output);
fp_status_t fp_add_s16(const fp_add_params_t *params, const int16_t *input1,
                       const int16_t *input2, int16_t *output);
fp_status_t fp_mul_s8(const fp_mul_params_t *params, const int8_t *input1,
                      const int8_t *input2, int8_t *output);
fp_status_t fp_mul_s16(const fp_mul_params_t *params, const int16_t *input1,
                       const int16_t *input2, int16_t *output);
fp_status_t fp_leaky_relu_s8(const fp_leaky_relu_params_t *params, const int8_t *input,
                             int8_t *output);
/* fp_leaky_relu_s8_opt: the portable optimized variant (runtime/src/kernels_opt/):
 * same parameters, ranges, errors and bit-identical output as fp_leaky_relu_s8. */
fp_status_t fp_leaky_relu_s8_opt(const fp_leaky_relu_params_t *params, const int8_t *input,
                                 int8_t *output);
fp_status_t fp_leaky_relu_s16(const fp_leaky_relu_params_t *params, const int16_t *input,
                              int16_t *output);

/* Elementwise function by table: params->size >= 1 elements; params->table
 * non-NULL: int8[256] for s8 (output = table[x + 128]), int16[513] for s16
 * (TFLite's interpolated lookup, any table values). Every int8 / int16 input
 * value is legal. FP_ERR_ARG for NULL pointers or size < 1. */
fp_status_t fp_lut_s8(const fp_lut_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_lut_s16(const fp_lut_params_t *params, const int16_t *input, int16_t *output);

/* PRelu (TFLite): size >= 1; 1 <= channels with size % channels == 0 (alpha
 * repeats along the innermost dim); alpha int8[channels] non-NULL; s8: any
 * int32 input_offset / alpha_offset / output_offset; s16: input_offset and
 * output_offset 0, any alpha_offset; identity_scale / alpha_scale legal for
 * mode (docs/rounding.md); type_min <= act_min <= act_max <= type_max. */
fp_status_t fp_prelu_s8(const fp_prelu_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_prelu_s16(const fp_prelu_params_t *params, const int16_t *input, int16_t *output);

/* Elementwise minimum / maximum with NHWC broadcasting (a dim of 1 in an
 * input broadcasts; output dims = the larger of each pair); s8: any int32
 * offsets; s16: offsets 0; input1_scale / input2_scale legal for mode;
 * type_min <= act_min <= act_max <= type_max. */
fp_status_t fp_minimum_s8(const fp_minmax_params_t *params, const int8_t *input1,
                          const int8_t *input2, int8_t *output);
fp_status_t fp_minimum_s16(const fp_minmax_params_t *params, const int16_t *input1,
                           const int16_t *input2, int16_t *output);
fp_status_t fp_maximum_s8(const fp_minmax_params_t *params, const int8_t *input1,
                          const int8_t *input2, int8_t *output);
fp_status_t fp_maximum_s16(const fp_minmax_params_t *params, const int16_t *input1,
                           const int16_t *input2, int16_t *output);

/* ---- pooling ------------------------------------------------------------ */
fp_status_t fp_max_pool_s8(const fp_pool_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_max_pool_s16(const fp_pool_params_t *params, const int16_t *input, int16_t *output);
fp_status_t fp_avg_pool_s8(const fp_pool_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_avg_pool_s16(const fp_pool_params_t *params, const int16_t *input, int16_t *output);
/* fp_max_pool_s8_mve / fp_avg_pool_s8_mve: the s8 pools with Helium (MVE); same
 * parameters, ranges, errors and bit-identical output (the references without MVE). */
fp_status_t fp_max_pool_s8_mve(const fp_pool_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_avg_pool_s8_mve(const fp_pool_params_t *params, const int8_t *input, int8_t *output);

/* ---- softmax over one axis of [outer, depth, inner] ------------------- */
/* rows, depth >= 1, rows * depth <= 2^31 - 1, inner >= 1 dividing rows
 * (inner 1: the last dim of [rows, depth]); the vector r starts at
 * (r / inner) * depth * inner + r % inner, its elements inner apart. */
fp_status_t fp_softmax_s8(const fp_softmax_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_softmax_s16(const fp_softmax_params_t *params, const int16_t *input, int16_t *output);
/* int8 in, int16 out (scale 1/65536, zero point -32768, as TFLite requires for
 * this pair): the parameters and ranges of fp_softmax_s8 (rows, depth, inner as
 * above, input_multiplier >= 0, input_left_shift in
 * [0, 31], diff_min <= 0; the LUT pointers are unused). */
fp_status_t fp_softmax_s8_s16(const fp_softmax_params_t *params, const int8_t *input,
                              int16_t *output);

/* ---- reduce (ReduceSum / ReduceMean / ReduceMax) ----------------------- */
/* input / output dims >= 1 with count <= 2^31 - 1; every output dim equals the
 * input dim (kept) or is 1 (reduced); kind FP_REDUCE_SUM or FP_REDUCE_MAX;
 * act_min <= act_max within the element type. FP_REDUCE_SUM only: mode legal,
 * scale a legal 32-bit-accumulator (multiplier, shift) (docs/rounding.md),
 * input_offset / output_offset any int32 for int8 and 0 for int16. The sum of
 * (x + input_offset) is exact in int64 and saturated to int32 before the
 * requantization. FP_REDUCE_MAX ignores offsets, scale and mode. */
fp_status_t fp_reduce_s8(const fp_reduce_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_reduce_s16(const fp_reduce_params_t *params, const int16_t *input, int16_t *output);

/* ---- lstm (ONNX LSTM, one direction, batch 1) --------------------------- */
/* seq_len, input_size, hidden_size in 1..2^20 (4 * hidden_size too, and
 * seq_len * input_size, seq_len * hidden_size <= 2^26); offsets in
 * [-256, 256]; mode legal and every scale a legal 32-bit-accumulator
 * (multiplier, shift); cell_frac_bits 0..15; cell_clip 0..32767;
 * output_sequence, reverse 0 or 1; the three 513-entry tables non-NULL.
 * weights [4H, input_size + H], bias [8H]; scratch:
 * fp_lstm_s8_scratch_size() bytes (the state, reset at every call).
 * Arithmetic: fp_lstm_params_t (fp_types.h), docs/kernels.md "lstm". */
fp_status_t fp_lstm_s8(const fp_lstm_params_t *params, const int8_t *input, const int8_t *weights,
                       const int32_t *bias, int8_t *output, void *scratch);
size_t fp_lstm_s8_scratch_size(const fp_lstm_params_t *params);
/* Streaming (params->state non-NULL, 3 * hidden_size bytes, 2-byte aligned:
 * cell int16 [H] then h int8 [H]): fp_lstm_s8 continues from that state and
 * leaves the final one there. fp_lstm_s8_state_reset() writes the initial
 * state (c = 0, h = -hidden_offset); hidden_size 1..2^20, hidden_offset in
 * [-256, 256], state non-NULL, else FP_ERR_ARG. */
fp_status_t fp_lstm_s8_state_reset(const fp_lstm_params_t *params);

/* ---- gru (ONNX GRU, linear_before_reset 1, one direction, batch 1) ------- */
/* Ranges as fp_lstm_s8 (3H in place of 4H; no cell fields). weights
 * [3H, input_size + H], bias [6H]; scratch: fp_gru_s8_scratch_size() bytes.
 * Arithmetic: fp_gru_params_t (fp_types.h), docs/kernels.md "gru". */
fp_status_t fp_gru_s8(const fp_gru_params_t *params, const int8_t *input, const int8_t *weights,
                      const int32_t *bias, int8_t *output, void *scratch);
size_t fp_gru_s8_scratch_size(const fp_gru_params_t *params);
/* Streaming as fp_lstm_s8 with the state h int8 [hidden_size] only;
 * fp_gru_s8_state_reset() writes h = -hidden_offset (ranges as the lstm's). */
fp_status_t fp_gru_s8_state_reset(const fp_gru_params_t *params);

/* ---- attention ---------------------------------------------------------- */
/* Batched matmul of two activations (fp_batch_matmul_params_t, docs/kernels.md
 * "batch_matmul"): batch[0], batch[1], rows, cols >= 1, 1 <= depth <= 2^20;
 * strides >= 0 (0 broadcasts), every index they reach below input1_size /
 * input2_size / output_size; s8: offsets in [-255, 255] for the inputs and
 * [-128, 127] for the output, sum of products saturated to int32 then
 * fp_requant32; s16: offsets 0, int64 sum, fp_requant64 (shift in the 64-bit
 * ranges); act_min <= act_max in the output type's range. */
fp_status_t fp_batch_matmul_s8(const fp_batch_matmul_params_t *params, const int8_t *input1,
                               const int8_t *input2, int8_t *output);
fp_status_t fp_batch_matmul_s16(const fp_batch_matmul_params_t *params, const int16_t *input1,
                                const int16_t *input2, int16_t *output);
/* Layer normalization over [outer, depth, inner] (fp_layer_norm_params_t,
 * docs/kernels.md "layer_norm"): rows >= 1, 1 <= depth <= 32767, inner >= 1
 * dividing rows; s8: input_offset in [-255, 255]; s16: offsets 0;
 * 0 <= eps_term <= 2^60; gamma / beta: depth entries, |beta| <= 2^46;
 * output_scale legal for the 64-bit accumulator (fp_requant64);
 * act_min <= act_max in the output type's range. */
fp_status_t fp_layer_norm_s8(const fp_layer_norm_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_layer_norm_s16(const fp_layer_norm_params_t *params, const int16_t *input, int16_t *output);

/* ---- data movement ------------------------------------------------------ */
fp_status_t fp_concat_s8(const fp_concat_params_t *params, const int8_t *const *inputs,
                         int8_t *output);
fp_status_t fp_concat_s16(const fp_concat_params_t *params, const int16_t *const *inputs,
                          int16_t *output);
/* Pad (fp_pad_params_t): mode 0 constant pad_value, 1 reflect (pads <= dim - 1
 * on both sides), 2 edge; pad_before >= 0, input + pad_before <= output per dim;
 * pad_value in the type's range (read for every mode). */
fp_status_t fp_pad_s8(const fp_pad_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_pad_s16(const fp_pad_params_t *params, const int16_t *input, int16_t *output);
/* Transpose: output dim i = input dim perm[i] over the 4 stored dims
 * (N, H, W, C). input dims >= 1, element count <= 2^31 - 1, perm a
 * permutation of {0, 1, 2, 3}; values are copied unchanged (the output keeps
 * the input's quantization). output holds the input's element count. */
fp_status_t fp_transpose_s8(const fp_transpose_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_transpose_s16(const fp_transpose_params_t *params, const int16_t *input, int16_t *output);
/* Strided slice: output[n, h, w, c] = input[begin[d] + i_d * stride[d]] per dim d.
 * input / output dims >= 1, each count <= 2^31 - 1, stride[d] != 0 (any sign),
 * begin[d] and begin[d] + (output dim d - 1) * stride[d] both in
 * [0, input dim d - 1]; values are copied unchanged. */
fp_status_t fp_slice_s8(const fp_slice_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_slice_s16(const fp_slice_params_t *params, const int16_t *input, int16_t *output);
/* Resize of H and W (fp_resize_params_t): nearest (exact rational source
 * coordinate, rounded per `nearest_mode`) or bilinear (TFLite's integer
 * resize_bilinear: Q10 coordinates, weights summing to 2^20, rounding half away
 * from zero). Values keep the input's quantization. Legal: input / output dims
 * >= 1, output.n == input.n, output.c == input.c, H and W of both <= 32767,
 * counts <= 2^31 - 1, method 0 or 1, coord 0..3 (bilinear: 0..2), rounding
 * 0..3 (nearest_mode: the rounding of the nearest coordinate), ratio_num in [0, 32767], ratio_den in [1, 32767]. */
fp_status_t fp_resize_s8(const fp_resize_params_t *params, const int8_t *input, int8_t *output);
fp_status_t fp_resize_s16(const fp_resize_params_t *params, const int16_t *input, int16_t *output);
fp_status_t fp_requantize_s8_s8(const fp_requantize_params_t *params, const int8_t *input,
                                int8_t *output);
fp_status_t fp_requantize_s8_s16(const fp_requantize_params_t *params, const int8_t *input,
                                 int16_t *output);
fp_status_t fp_requantize_s16_s8(const fp_requantize_params_t *params, const int16_t *input,
                                 int8_t *output);

/* ---- graph executor (the entry the firmware calls) ---------------------- */

/* Bytes of scratch the largest layer of the graph needs, from the scratch
 * functions of graph->kernels (a layer whose kernel the table lacks counts 0;
 * the executor rejects it). 0 for a NULL graph or layer table. */
size_t fp_graph_scratch_size(const fp_graph_t *graph);
/* Run layer `index` of the graph: reads its inputs from and writes its output
 * to the arena (graph->arena_size bytes, 4-byte aligned). The kernel comes
 * from graph->kernels (first entry with the layer's op and datapath); copy
 * layers need no entry. Checks in this order: FP_ERR_UNSUPPORTED for an op
 * / datapath value the runtime does not know; FP_ERR_ARG when the layer does
 * not fit the arena (bounds, dtypes, overlap); FP_ERR_UNRESOLVED when the
 * table has no entry for the (known) pair, e.g. a firmware generated for
 * another plan or graph->kernels NULL; FP_ERR_SCRATCH when the entry needs
 * more scratch than given; else the kernel's status. Nothing is written
 * unless the kernel runs. */
fp_status_t fp_graph_run_layer(const fp_graph_t *graph, uint32_t index, uint8_t *arena,
                               void *scratch, size_t scratch_size);
/* Run every layer in order. Inputs must have been written to their arena
 * slots (graph->tensors[graph->inputs[i]].offset) beforehand. */
fp_status_t fp_graph_run(const fp_graph_t *graph, uint8_t *arena, void *scratch,
                         size_t scratch_size);
/* The resolver with every kernel of the runtime (fp_resolver.h
 * FP_KERNEL_LIST, one entry per op and datapath). The host simulator runs
 * with it; a firmware that references it links every kernel. */
const fp_kernel_table_t *fp_kernels_all(void);

/* The layer an engine runs when its register file holds `regs` (n = map->n_regs words, as the
 * command-stream player left them): a copy of `layer` whose zero points, activation clamp,
 * requantizer (multiplier / shift tables and mode) and weight / bias tables are decoded from the
 * registers, and for conv2d, depthwise / transpose conv2d and max / avg pool also the geometry
 * (input / output h, w, c; filter h, w; strides; dilations, not in pools; pad top / left). Fields
 * the map lacks keep the layer's value. Table registers are byte offsets into `blob` (blob_size
 * bytes; 0: no table); offsets must lie inside it, int32 tables 4-byte aligned. FP_ERR_ARG when
 * the OP / DATAPATH registers name another layer, the ENGINE register is >= map->n_engines, an
 * offset is out of range, or the decoded filter window (K_H * K_W) has more taps than the
 * layer's own (it would read past the weight table); `out` is untouched then. Any other decoded
 * geometry is checked where the layer runs (the kernel's FP_ERR_ARG, the executor's bounds). */
fp_status_t fp_layer_from_regs(const fp_layer_t *layer, const uint32_t *regs, const fp_regmap_t *map,
                               const uint8_t *blob, uint32_t blob_size, fp_layer_t *out);

/* FP_CDEF_END */

#ifdef __cplusplus
}
#endif

#endif /* FP_RUNTIME_H */
