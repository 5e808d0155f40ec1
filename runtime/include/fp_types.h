/*
 * fp_types.h - parameter structs and enums of the Fixpoint integer runtime.
 *
 * Every kernel, the graph executor, the host simulator (cffi, API mode) and the
 * generated firmware share these definitions. The region between the
 * FP_CDEF_BEGIN / FP_CDEF_END markers is read verbatim by the cffi build, so it
 * must stay in the subset cffi's cdef parser understands: no macros, no
 * static inline functions, array sizes as integer literals.
 *
 * Conventions (TFLite integer quantization spec, as in TFLite Micro / CMSIS-NN):
 *   - activations NHWC; conv filters OHWI; depthwise filters [1, KH, KW, C_out];
 *     fully connected filters [C_out, depth];
 *   - input_offset = -input_zero_point, output_offset = +output_zero_point,
 *     filter_offset = -filter_zero_point (fully connected only);
 *   - requantization: acc -> requant(acc, multiplier, shift) + output_offset
 *     -> clamp(act_min, act_max). shift > 0 shifts left. See docs/rounding.md.
 */
#ifndef FP_TYPES_H
#define FP_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* FP_CDEF_BEGIN */

typedef enum {
    FP_OK = 0,
    FP_ERR_ARG = -1,         /* a parameter is outside its legal range */
    FP_ERR_UNSUPPORTED = -2, /* op / datapath combination not implemented */
    FP_ERR_SCRATCH = -3,     /* scratch buffer missing or too small */
    FP_ERR_UNRESOLVED = -4   /* valid op / datapath, but not in the graph's kernel table */
} fp_status_t;

/* How a 32/64-bit accumulator is scaled back to the output type. */
typedef enum {
    FP_ROUND_DOUBLE = 0,     /* TFLite default: SaturatingRoundingDoublingHighMul + RoundingDivideByPOT */
    FP_ROUND_SINGLE = 1,     /* one rounding (half up) of the full 64-bit product */
    FP_ROUND_SHIFT_ONLY = 2, /* power-of-two hardware: multiplier ignored, rounding shift only */
    FP_ROUND_HALF_EVEN = 3   /* one rounding of the full product, ties to even (convergent rounding) */
} fp_rounding_t;

/* Integer datapaths: activation type x weight type. */
typedef enum {
    FP_DP_S8 = 0,   /* int8 activations, int8 weights, int32 bias */
    FP_DP_S4 = 1,   /* int8 activations, packed int4 weights, int32 bias */
    FP_DP_S16 = 2,  /* int16 activations (zero point 0), int8 weights, int64 bias */
    FP_DP_S2 = 3,   /* int8 activations, packed 2-bit (ternary) weights, int32 bias */
    FP_DP_S1 = 4    /* int8 activations, packed 1-bit (binary +-1) weights, int32 bias */
} fp_datapath_t;

typedef enum {
    FP_DTYPE_S8 = 0,
    FP_DTYPE_S16 = 1
} fp_dtype_t;

typedef enum {
    FP_OP_CONV2D = 0,
    FP_OP_DEPTHWISE_CONV2D = 1,
    FP_OP_FULLY_CONNECTED = 2,
    FP_OP_ADD = 3,
    FP_OP_MUL = 4,
    FP_OP_MAX_POOL = 5,
    FP_OP_AVG_POOL = 6,
    FP_OP_SOFTMAX = 7,
    FP_OP_CONCAT = 8,
    FP_OP_PAD = 9,
    FP_OP_LEAKY_RELU = 10,
    FP_OP_REQUANTIZE = 11,
    FP_OP_COPY = 12,
    FP_OP_LUT = 13,
    FP_OP_PRELU = 14,
    FP_OP_MINIMUM = 15,
    FP_OP_MAXIMUM = 16,
    FP_OP_TRANSPOSE = 17,
    FP_OP_RESIZE = 18,
    FP_OP_SLICE = 19,
    FP_OP_TRANSPOSE_CONV2D = 20,
    FP_OP_REDUCE = 21,
    FP_OP_LSTM = 22,
    FP_OP_GRU = 23,
    FP_OP_BATCH_MATMUL = 24,
    FP_OP_LAYER_NORM = 25
} fp_op_t;
/* One more than the largest fp_op_t: the executor reports an op value at or
 * above it as FP_ERR_UNSUPPORTED (unknown), a smaller one that the graph's
 * resolver lacks as FP_ERR_UNRESOLVED. */
#define FP_OP_COUNT 26

/* What fp_reduce_* computes over the reduced axes. */
typedef enum {
    FP_REDUCE_SUM = 0,  /* requant(sum(x + input_offset)) + output_offset; a mean folds 1/count into the scale */
    FP_REDUCE_MAX = 1   /* max(x), clamped; input and output share scale and zero point */
} fp_reduce_kind_t;

/* A 4-D shape. Activations: NHWC. Filters: see each params struct. */
typedef struct {
    int32_t n;
    int32_t h;
    int32_t w;
    int32_t c;
} fp_dims_t;

/* How multipliers are interpreted: rounding mode and register width. */
typedef struct {
    uint8_t rounding;        /* fp_rounding_t */
    uint8_t multiplier_bits; /* 2..32: multiplier is Q(bits-1), 0 <= m < 2^(bits-1) */
    uint8_t acc_bits;        /* 0: int32 accumulator; 8..31: an engine's narrower accumulator register */
    uint8_t acc_wrap;        /* with acc_bits: 0 = the register saturates, 1 = it wraps (two's complement) */
} fp_rq_mode_t;

/* One scalar scale: real factor = multiplier / 2^(bits-1) * 2^shift. */
typedef struct {
    int32_t multiplier;
    int32_t shift;           /* > 0: left shift */
} fp_scale_t;

/* Per-channel (n = output channels) or per-tensor (n = 1) requantization. */
typedef struct {
    const int32_t *multiplier; /* n entries */
    const int32_t *shift;      /* n entries */
    int32_t n;
    fp_rq_mode_t mode;
} fp_requant_t;

/* conv2d: filter dims are OHWI: n = C_out, h = KH, w = KW, c = C_in / groups. */
typedef struct {
    fp_dims_t input;
    fp_dims_t filter;
    fp_dims_t output;
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_top;       /* bottom / right padding is implied by output dims */
    int32_t pad_left;
    int32_t groups;        /* C_in % groups == 0 and C_out % groups == 0 */
    int32_t input_offset;  /* -input_zero_point; 0 for s16 */
    int32_t output_offset; /* +output_zero_point; 0 for s16 */
    int32_t act_min;
    int32_t act_max;
    fp_requant_t requant;
} fp_conv2d_params_t;

/* depthwise conv2d: filter dims [1, KH, KW, C_out], C_out = C_in * depth_multiplier. */
typedef struct {
    fp_dims_t input;
    fp_dims_t filter;
    fp_dims_t output;
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t depth_multiplier;
    int32_t input_offset;
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
    fp_requant_t requant;
} fp_depthwise_conv2d_params_t;

/* fully connected: input [batches, depth], filter [out_channels, depth]. */
typedef struct {
    int32_t batches;
    int32_t depth;
    int32_t out_channels;
    int32_t input_offset;
    int32_t filter_offset;  /* -filter_zero_point (0 for symmetric weights) */
    int32_t output_offset;
    int32_t act_min;
    int32_t act_max;
    fp_requant_t requant;
} fp_fully_connected_params_t;

/* elementwise add with NHWC broadcasting (a dim of 1 broadcasts). */
typedef struct {
    fp_dims_t input1;
    fp_dims_t input2;
    fp_dims_t output;
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    int32_t left_shift;     /* TFLite: 20 for s8, 15 for s16 */
    fp_scale_t input1_scale;
    fp_scale_t input2_scale;
    fp_scale_t output_scale;
    int32_t act_min;
    int32_t act_max;
    fp_rq_mode_t mode;
    int32_t subtract;       /* 0: x1 + x2 (TFLite Add); 1: x1 - x2 (TFLite Sub) */
} fp_add_params_t;

/* elementwise mul with NHWC broadcasting. */
typedef struct {
    fp_dims_t input1;
    fp_dims_t input2;
    fp_dims_t output;
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    fp_scale_t output_scale;
    int32_t act_min;
    int32_t act_max;
    fp_rq_mode_t mode;
} fp_mul_params_t;

/* max / average pool. Input and output share scale and zero point. Average
 * pool divides by the number of non-padding taps, rounding half away from zero. */
typedef struct {
    fp_dims_t input;
    fp_dims_t output;
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t act_min;
    int32_t act_max;
} fp_pool_params_t;

/* softmax over one axis of [outer, depth, inner]: `rows` = outer * inner
 * vectors of `depth` elements, consecutive elements `inner` apart (inner 1:
 * the innermost dimension of [rows, depth], TFLite's layout; inner > 1: any
 * other axis, e.g. H of NHWC with inner = W * C).
 * s8: TFLite fixed-point exp (input_multiplier, input_left_shift, diff_min),
 *     output scale 1/256, zero point -128.
 * s16: TFLite LUT path, exp_lut and one_over_one_plus_x_lut have 513 entries,
 *     output scale 1/32768, zero point 0. */
typedef struct {
    int32_t rows;
    int32_t depth;
    int32_t inner;         /* >= 1, divides rows */
    int32_t input_multiplier;
    int32_t input_left_shift;
    int32_t diff_min;
    const int16_t *exp_lut;
    const int16_t *one_over_one_plus_x_lut;
} fp_softmax_params_t;

/* concat of up to 8 inputs along one axis. With outer = product of dims before
 * the axis and inner = product of dims after it, input i contributes
 * axis_size[i] * inner contiguous elements per outer step. Each input is
 * requantized to the output: (x + input_offset[i]) * scale[i] + output_offset. */
typedef struct {
    int32_t n_inputs;
    int32_t outer;
    int32_t inner;
    int32_t axis_size[8];
    int32_t input_offset[8];
    fp_scale_t input_scale[8];
    int32_t output_offset;
    fp_rq_mode_t mode;
} fp_concat_params_t;

/* pad of an NHWC tensor; pad_before in N, H, W, C order (after: implied by
 * the output dims). mode 0 constant (pad_value), 1 reflect (mirror without
 * repeating the edge; every pad <= dim - 1), 2 edge (repeat the edge), 3 wrap
 * (ONNX opset 19: the input repeated periodically, output index o reads
 * input (o - pad_before) mod dim; pads of any size). */
typedef struct {
    fp_dims_t input;
    fp_dims_t output;
    int32_t pad_before[4];
    int32_t pad_value;      /* the output zero point, so padding means real 0.0 */
    int32_t mode;           /* 0 constant (the zero value of the struct), 1 reflect, 2 edge, 3 wrap */
} fp_pad_params_t;

/* leaky relu (TFLite): x >= 0 uses identity_scale, x < 0 uses alpha_scale. */
typedef struct {
    int32_t size;
    int32_t input_offset;
    int32_t output_offset;
    fp_scale_t identity_scale;
    fp_scale_t alpha_scale;
    int32_t act_min;
    int32_t act_max;
    fp_rq_mode_t mode;
} fp_leaky_relu_params_t;

/* rescale / change type: out = clamp(requant(x + input_offset) + output_offset). */
typedef struct {
    int32_t size;
    int32_t input_offset;
    int32_t output_offset;
    fp_scale_t scale;
    int32_t act_min;
    int32_t act_max;
    fp_rq_mode_t mode;
} fp_requantize_params_t;

/* plain byte copy (layout-neutral reshape between two arena slots). */
typedef struct {
    int32_t bytes;
} fp_copy_params_t;

/* elementwise function by table (TFLite LUT). s8: output = table[input + 128],
 * table int8[256]. s16: TFLite's interpolated int16 table of 513 entries,
 * i = (x + 32768) >> 7, f = x & 127, output = table[i] +
 * floor(((table[i + 1] - table[i]) * f + 64) / 128). */
typedef struct {
    int32_t size;
    const void *table;      /* int8[256] (s8, s4) or int16[513] (s16) */
} fp_lut_params_t;

/* prelu (TFLite): v = x + input_offset; v >= 0: requant(v, identity_scale);
 * v < 0: requant(v * (alpha[i % channels] + alpha_offset), alpha_scale). */
typedef struct {
    int32_t size;
    int32_t channels;       /* alpha entries; the innermost (C) dim repeats them */
    int32_t input_offset;
    int32_t alpha_offset;
    int32_t output_offset;
    fp_scale_t identity_scale;
    fp_scale_t alpha_scale;
    int32_t act_min;
    int32_t act_max;
    fp_rq_mode_t mode;
    const int8_t *alpha;    /* int8[channels] */
} fp_prelu_params_t;

/* elementwise minimum / maximum with broadcasting: each input is rescaled to
 * the output (requant(x + input_offset, input_scale)), then min / max,
 * + output_offset, clamp. */
typedef struct {
    fp_dims_t input1;
    fp_dims_t input2;
    fp_dims_t output;
    int32_t input1_offset;
    int32_t input2_offset;
    int32_t output_offset;
    fp_scale_t input1_scale;
    fp_scale_t input2_scale;
    int32_t act_min;
    int32_t act_max;
    fp_rq_mode_t mode;
} fp_minmax_params_t;

/* transpose of a 4-D tensor stored row-major in (N, H, W, C) dim order:
 * output dim i is input dim perm[i] (perm is a permutation of 0..3). */
typedef struct {
    fp_dims_t input;
    int32_t perm[4];
} fp_transpose_params_t;

/* strided slice of a 4-D tensor, per dim (N, H, W, C):
 * output[i] = input[begin + i * stride]; stride != 0 (negative walks back). */
typedef struct {
    fp_dims_t input;
    fp_dims_t output;
    int32_t begin[4];
    int32_t stride[4];
} fp_slice_params_t;

/* resize of H and W (N and C unchanged). Source coordinate of output index x
 * along an axis, with ratio = ratio_num / ratio_den (input per output length):
 *   coord 0 asymmetric:           x * ratio
 *   coord 1 half_pixel:           (x + 1/2) * ratio - 1/2
 *   coord 2 align_corners:        x * ratio (the lowering gives ratio (in-1)/(out-1))
 *   coord 3 tf_half_pixel_for_nn: (x + 1/2) * ratio
 * method 0 nearest: that coordinate rounded exactly (nearest_mode 0 half down,
 * 1 half up, 2 floor, 3 ceil), clamped to [0, in - 1].
 * method 1 bilinear: TFLite's integer resize_bilinear: scale_10 =
 * (1024 * ratio_num + ratio_den / 2) / ratio_den, half_pixel_centers = coord 1. */
typedef struct {
    fp_dims_t input;
    fp_dims_t output;
    int32_t method;
    int32_t coord;
    int32_t nearest_mode;
    int32_t ratio_num[2];   /* H, W */
    int32_t ratio_den[2];
} fp_resize_params_t;

/* transposed 2-D convolution (ONNX ConvTranspose, TFLite TRANSPOSE_CONV):
 * filter dims OHWI [C_out, KH, KW, C_in / groups]. Output (oy, ox) of channel
 * oc sums input (iy, ix) x filter tap (ky, kx) over the input channels of
 * oc's group (g = oc / (C_out / groups): channels g * C_in/groups ...)
 * wherever oy + pad_top = iy * stride_h + ky * dilation_h (same for x);
 * pad_top / pad_left crop the start of the full output, its end is implied by
 * the output dims (so ONNX output_padding is in the output dims). groups =
 * C_in = C_out is the depthwise transposed convolution. */
typedef struct {
    fp_dims_t input;
    fp_dims_t filter;
    fp_dims_t output;
    int32_t stride_h;
    int32_t stride_w;
    int32_t dilation_h;
    int32_t dilation_w;
    int32_t pad_top;
    int32_t pad_left;
    int32_t groups;        /* >= 1, C_in % groups == 0 and C_out % groups == 0 */
    int32_t input_offset;  /* -input_zero_point; 0 for s16 */
    int32_t output_offset; /* +output_zero_point; 0 for s16 */
    int32_t act_min;
    int32_t act_max;
    fp_requant_t requant;
} fp_transpose_conv2d_params_t;

/* reduce over any subset of the NHWC axes: an output dim equal to the input
 * dim is kept, an output dim of 1 (input dim > 1) is reduced. kind
 * FP_REDUCE_SUM: out = clamp(requant(sum(x + input_offset), scale) +
 * output_offset) (ReduceSum; ReduceMean with 1/count folded into scale, as
 * TFLite's QuantizedMeanOrSum); FP_REDUCE_MAX: out = clamp(max(x)), the
 * offsets, scale and mode unused. */
typedef struct {
    fp_dims_t input;
    fp_dims_t output;
    int32_t kind;           /* fp_reduce_kind_t */
    int32_t input_offset;   /* -input_zero_point; 0 for s16 */
    int32_t output_offset;  /* +output_zero_point; 0 for s16 */
    fp_scale_t scale;
    int32_t act_min;
    int32_t act_max;
    fp_rq_mode_t mode;
} fp_reduce_params_t;

/* LSTM over a whole sequence (ONNX LSTM, one direction, batch 1) with
 * TFLite's integer LSTM arithmetic (docs/kernels.md, "lstm"): int8 input x
 * [seq_len, input_size] and hidden state h, int16 gates (Q3.12, scale 2^-12)
 * and cell state (scale 2^-cell_frac_bits), sigmoid / tanh by TFLite's
 * interpolated int16 tables (Q0.15 out). Gate order i, o, f, c (ONNX).
 * weights: int8 [4 * hidden, input_size + hidden] (row r: W[r, :] then R[r, :]);
 * bias: int32 [8 * hidden] (input-side biases, then recurrent-side biases).
 * output: h of every step [seq_len, hidden] (output_sequence 1) or the last
 * h [hidden] (0). The state starts at h = 0 (q = -hidden_offset), c = 0. */
typedef struct {
    int32_t seq_len;
    int32_t input_size;
    int32_t hidden_size;
    int32_t input_offset;      /* -x zero point */
    int32_t hidden_offset;     /* -h zero point (the recurrent matmul's offset) */
    int32_t output_offset;     /* +h zero point */
    fp_scale_t input_scale[4];     /* s_x * s_W[g] / 2^-12 */
    fp_scale_t recurrent_scale[4]; /* s_h * s_R[g] / 2^-12 */
    fp_scale_t hidden_scale;       /* 2^-30 / s_h: o * tanh(c) (Q0.30) -> h */
    int32_t cell_frac_bits;    /* cell scale 2^-cell_frac_bits, 0..15 */
    int32_t cell_clip;         /* 0: none, else |c| <= cell_clip (cell units) */
    int32_t output_sequence;   /* 1: every step's h, 0: the last h only */
    int32_t reverse;           /* 1: the sequence runs from the last step to the first */
    const int16_t *sigmoid_lut;   /* 513 entries, input scale 2^-12, output 2^-15 */
    const int16_t *tanh_lut;      /* 513 entries, input scale 2^-12, output 2^-15 */
    const int16_t *cell_tanh_lut; /* 513 entries, input the cell scale, output 2^-15 */
    fp_rq_mode_t mode;
    /* NULL: whole sequence, the state starts fresh in scratch at every call.
     * Else the persistent state, 3 * hidden_size bytes, 2-byte aligned: cell
     * int16 [H] then h int8 [H]; read at entry, the final state left at exit
     * (streaming; fp_lstm_s8_state_reset() writes the initial state). */
    void *state;
} fp_lstm_params_t;

/* GRU over a whole sequence (ONNX GRU with linear_before_reset = 1, the
 * PyTorch export; one direction, batch 1), in the arithmetic of fp_lstm_s8
 * (docs/kernels.md "gru"): int8 x and h, int16 Q3.12 gates, int16 tables.
 * Gate order z, r, h (ONNX). weights: int8 [3 * hidden, input_size + hidden]
 * (row r: W[r, :] then R[r, :]); bias: int32 [6 * hidden] (input side, then
 * recurrent side). The state starts at h = 0 (q = -hidden_offset). */
typedef struct {
    int32_t seq_len;
    int32_t input_size;
    int32_t hidden_size;
    int32_t input_offset;      /* -x zero point */
    int32_t hidden_offset;     /* -h zero point */
    int32_t output_offset;     /* +h zero point */
    fp_scale_t input_scale[3];     /* s_x * s_W[g] / 2^-12 */
    fp_scale_t recurrent_scale[3]; /* s_h * s_R[g] / 2^-12 */
    fp_scale_t hidden_scale;       /* 2^-30 / s_h: (1 - z) * n (Q0.30) -> h units */
    int32_t output_sequence;   /* 1: every step's h, 0: the last h only */
    int32_t reverse;           /* 1: the sequence runs from the last step to the first */
    const int16_t *sigmoid_lut;   /* 513 entries, input scale 2^-12, output 2^-15 */
    const int16_t *tanh_lut;      /* 513 entries, input scale 2^-12, output 2^-15 */
    fp_rq_mode_t mode;
    /* NULL: whole sequence (fresh state per call); else the persistent state,
     * h int8 [hidden_size], read at entry and left final at exit (streaming;
     * fp_gru_s8_state_reset() writes the initial state). */
    void *state;
} fp_gru_params_t;

/* Batched matmul of two activations (ONNX MatMul, both operands computed):
 *   out[b0][b1][m][n] = clamp(requant(sum_k (A[b0][b1][m][k] + input1_offset)
 *                                      * (B[b0][b1][k][n] + input2_offset))
 *                             + output_offset, act_min, act_max)
 * Every element is addressed through strides (in elements, >= 0), so any
 * stored layout, a transposed operand (swapped strides) and broadcast batch
 * dims (stride 0) need no copy. The kernel reads A[i] only for
 * i < input1_size (likewise B, output): it checks the largest index first.
 * s8: the exact sum (int64) saturated to int32, fp_requant32; s16: offsets 0,
 * int64 sum, fp_requant64 (docs/kernels.md "batch_matmul"). */
typedef struct {
    int32_t batch[2];          /* batch dims b0, b1 (>= 1) */
    int32_t rows;              /* M */
    int32_t depth;             /* K */
    int32_t cols;              /* N */
    int32_t input1_stride[4];  /* A strides over (b0, b1, m, k) */
    int32_t input2_stride[4];  /* B strides over (b0, b1, k, n) */
    int32_t output_stride[4];  /* output strides over (b0, b1, m, n) */
    int32_t input1_size;       /* elements of A (the tensor) */
    int32_t input2_size;       /* elements of B */
    int32_t output_size;       /* elements of the output */
    int32_t input1_offset;     /* -A zero point; 0 for s16 */
    int32_t input2_offset;     /* -B zero point; 0 for s16 */
    int32_t output_offset;     /* +output zero point; 0 for s16 */
    fp_scale_t output_scale;   /* s_A * s_B / s_out */
    int32_t act_min;
    int32_t act_max;
    fp_rq_mode_t mode;
} fp_batch_matmul_params_t;

/* Layer normalization over one axis of [outer, depth, inner] (ONNX
 * LayerNormalization on the last ONNX axis; `rows` = outer * inner vectors
 * of `depth` elements, consecutive elements `inner` apart). Exact integer
 * mean and variance, an integer inverse square root, then per-element
 * gamma (int16, one per element of the axis) and beta (int64) and one
 * output scale (docs/kernels.md "layer_norm"):
 *   c_i = x_i - zx, S = sum c_i, d_i = depth * c_i - S,
 *   V = depth * sum c_i^2 - S^2 + eps_term (= depth^2 (var + eps) in input units^2)
 *   t_i = round(d_i * 2^15 / sqrt(V)) by fp's integer rsqrt (Q15 normalized value)
 *   out_i = clamp(requant64(t_i * gamma_i + beta_i, output_scale) + output_offset) */
typedef struct {
    int32_t rows;
    int32_t depth;             /* 1..65535 */
    int32_t inner;             /* >= 1, divides rows */
    int32_t input_offset;      /* -x zero point; 0 for s16 */
    int32_t output_offset;     /* +output zero point; 0 for s16 */
    int64_t eps_term;          /* round(depth^2 * eps / s_x^2), >= 1 */
    fp_scale_t output_scale;   /* s_gamma * 2^-15 / s_out (64-bit accumulator rules) */
    int32_t act_min;
    int32_t act_max;
    const int16_t *gamma;      /* depth entries */
    const int64_t *beta;       /* depth entries, units s_gamma * 2^-15 */
    fp_rq_mode_t mode;
} fp_layer_norm_params_t;

typedef union {
    fp_conv2d_params_t conv2d;
    fp_depthwise_conv2d_params_t depthwise_conv2d;
    fp_fully_connected_params_t fully_connected;
    fp_add_params_t add;
    fp_mul_params_t mul;
    fp_pool_params_t pool;
    fp_softmax_params_t softmax;
    fp_concat_params_t concat;
    fp_pad_params_t pad;
    fp_leaky_relu_params_t leaky_relu;
    fp_requantize_params_t requantize;
    fp_copy_params_t copy;
    fp_lut_params_t lut;
    fp_prelu_params_t prelu;
    fp_minmax_params_t minmax;
    fp_transpose_params_t transpose;
    fp_resize_params_t resize;
    fp_slice_params_t slice;
    fp_reduce_params_t reduce;
    fp_transpose_conv2d_params_t transpose_conv2d;
    fp_lstm_params_t lstm;
    fp_gru_params_t gru;
    fp_batch_matmul_params_t batch_matmul;
    fp_layer_norm_params_t layer_norm;
} fp_layer_params_t;

/* An activation tensor living in the arena. */
typedef struct {
    uint32_t offset;   /* bytes from the arena start; multiple of 4 */
    uint32_t size;     /* bytes */
    fp_dims_t dims;    /* NHWC */
    uint8_t dtype;     /* fp_dtype_t */
} fp_tensor_t;

/* One layer of a lowered plan. */
typedef struct {
    uint8_t op;          /* fp_op_t */
    uint8_t datapath;    /* fp_datapath_t */
    uint8_t out_dtype;   /* fp_dtype_t, for FP_OP_REQUANTIZE */
    uint8_t n_inputs;
    uint16_t inputs[8];  /* tensor indices */
    uint16_t output;     /* tensor index */
    const void *weights; /* int8 (s8, s16) or packed int4 (s4); NULL if none */
    const void *bias;    /* int32 (s8, s4) or int64 (s16); NULL if none */
    fp_layer_params_t params;
} fp_layer_t;

/* The op resolver (fp_resolver.h, docs/kernels.md "How a model links only
 * its kernels"): the executor calls kernels only through a table of entries,
 * one per (op, datapath), so a firmware links the kernels its table names and
 * no others. */

/* A layer's tensors as the executor hands them to a kernel entry, after the
 * bounds checks of fp_graph_run_layer. in[1] of an add / mul layer with one
 * input is the layer's constant `weights` operand. */
typedef struct {
    const void *in[8];   /* n_inputs entries, the rest NULL */
    void *out;
    uint8_t in_dtype;    /* fp_dtype_t of in[0] */
    uint8_t out_dtype;   /* fp_dtype_t of out */
} fp_kernel_io_t;

/* What a layer's kernel reads and writes in the arena, in bytes per tensor,
 * as an entry's describe function computes it from the layer's params (not
 * from the tensors' dims). fp_graph_run_layer checks it against the tensors
 * before the kernel runs. */
typedef struct {
    uint32_t n_in;          /* arena inputs the kernel reads, 1..8 */
    uint64_t in_bytes[8];   /* bytes read from input i (0: invalid params) */
    uint8_t in_dtype[8];    /* fp_dtype_t input i must have */
    uint64_t out_bytes;     /* bytes written to the output (0: invalid params) */
    uint8_t out_dtype;      /* fp_dtype_t the output must have */
    uint8_t const_in1;      /* 1: in[1] is the layer's constant `weights` (a binary op with one arena input) */
} fp_io_need_t;

/* Runs the kernel of `layer` on `io` (scratch: the graph's scratch buffer,
 * at least scratch_size(layer) bytes). The one type of every table entry. */
typedef fp_status_t (*fp_kernel_run_fn_t)(const fp_layer_t *layer, const fp_kernel_io_t *io, void *scratch);
/* Scratch bytes the kernel of `layer` needs. */
typedef size_t (*fp_kernel_scratch_fn_t)(const fp_layer_t *layer);
struct fp_graph_s; /* fp_graph_t, below */
/* Fills `need` from the layer's params: act is the activation dtype of the
 * layer's datapath (fp_dtype_t); graph gives the tensors (requantize reads
 * its input's dtype there). FP_OK, or FP_ERR_ARG for params whose byte counts
 * cannot be formed (non-positive dims, input counts out of range). One per
 * params union member: fp_describe_<member> (fp_resolver.h). */
typedef fp_status_t (*fp_kernel_describe_fn_t)(const struct fp_graph_s *graph, const fp_layer_t *layer,
                                               uint8_t act, fp_io_need_t *need);

/* One resolver entry. The kernel and the bounds description of its layers
 * come together, so a firmware links neither for an op its table lacks. */
typedef struct {
    uint8_t op;                          /* fp_op_t */
    uint8_t datapath;                    /* fp_datapath_t */
    fp_kernel_run_fn_t run;              /* NULL: the entry is ignored */
    fp_kernel_scratch_fn_t scratch_size; /* NULL: the kernel takes no scratch */
    fp_kernel_describe_fn_t describe;    /* NULL: the entry is ignored (no layer runs unchecked) */
} fp_kernel_entry_t;

/* A resolver: generated per model (exactly the pairs its layers use), or
 * fp_kernels_all() (every kernel; the host simulator). First match wins. */
typedef struct {
    const fp_kernel_entry_t *entries;
    uint32_t n_entries;
} fp_kernel_table_t;

/* A whole lowered plan, as the firmware and the host simulator run it. */
typedef struct fp_graph_s {
    const fp_tensor_t *tensors;
    uint32_t n_tensors;
    const fp_layer_t *layers;
    uint32_t n_layers;
    uint32_t arena_size;    /* bytes */
    uint32_t scratch_size;  /* bytes: max over layers of the kernel scratch size */
    uint16_t n_inputs;
    uint16_t inputs[4];
    uint16_t n_outputs;
    uint16_t outputs[4];
    const fp_kernel_table_t *kernels; /* the resolver; NULL: every kernel layer is FP_ERR_UNRESOLVED */
} fp_graph_t;

/* The layer fields an engine takes from its register file (fp_layer_from_regs). */
typedef enum {
    FP_REG_OP = 0,        /* fp_op_t: must equal the layer's */
    FP_REG_ENGINE = 1,    /* index into fp_regmap_t.engine_modes: the engine's requantizer */
    FP_REG_DATAPATH = 2,  /* fp_datapath_t: must equal the layer's */
    FP_REG_W_ADDR = 3,    /* constant-blob byte offsets (0: no table) */
    FP_REG_BIAS_ADDR = 4,
    FP_REG_MULT_ADDR = 5,
    FP_REG_SHIFT_ADDR = 6,
    FP_REG_IN_ZP = 7,     /* zero points (= -input offset, +output offset) */
    FP_REG_IN2_ZP = 8,
    FP_REG_OUT_ZP = 9,
    FP_REG_W_ZP = 10,
    FP_REG_ACT_MIN = 11,  /* activation clamp, output domain */
    FP_REG_ACT_MAX = 12,
    FP_REG_IN_H = 13,     /* geometry of conv2d, depthwise / transpose conv2d, max / avg pool: */
    FP_REG_IN_W = 14,     /* input dims h, w, c */
    FP_REG_IN_C = 15,
    FP_REG_OUT_H = 16,    /* output dims h, w, c */
    FP_REG_OUT_W = 17,
    FP_REG_OUT_C = 18,
    FP_REG_K_H = 19,      /* filter (kernel window) h, w */
    FP_REG_K_W = 20,
    FP_REG_STRIDE_H = 21,
    FP_REG_STRIDE_W = 22,
    FP_REG_DILATION_H = 23, /* not in fp_pool_params_t: pools ignore it */
    FP_REG_DILATION_W = 24,
    FP_REG_PAD_TOP = 25,
    FP_REG_PAD_LEFT = 26
} fp_reg_field_t;

/* Where those fields live in one engine register file (the board's register map): a register
 * index per fp_reg_field_t (-1: the map has no such register; the layer's own value stays),
 * its width in bits and signedness (to sign-extend the stored word), and the requantizer of
 * each engine (rounding, multiplier width, accumulator width and overflow are fixed in
 * silicon, selected by the ENGINE register). */
typedef struct {
    int16_t reg[27];      /* 27 = fp_reg_field_t count (array sizes are literals for cffi) */
    uint8_t width[27];
    uint8_t is_signed[27];
    uint32_t n_regs;
    const fp_rq_mode_t *engine_modes;
    uint32_t n_engines;
} fp_regmap_t;

/* FP_CDEF_END */

#endif /* FP_TYPES_H */
