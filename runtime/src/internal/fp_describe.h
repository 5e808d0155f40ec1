/*
 * fp_describe.h - byte counting shared by the describe functions
 * (runtime/src/describe/, one per params union member) and the executor.
 *
 * Element counts are products of params dims; a non-positive dim gives 0,
 * which the executor rejects (FP_ERR_ARG), and products saturate at
 * FP_COUNT_CAP, which no tensor of a uint32_t-sized arena can hold, so the
 * bound check fails as it should instead of wrapping.
 */
#ifndef FP_DESCRIBE_H
#define FP_DESCRIBE_H

#include "fp_types.h"

#define FP_COUNT_CAP ((uint64_t)1 << 33)

/* count * dim, 0 if either is invalid (dims must be positive), saturated. */
static inline uint64_t fp_mul_count(uint64_t count, int32_t dim)
{
    uint64_t r;
    if (count == 0 || dim <= 0) {
        return 0;
    }
    r = count * (uint64_t)dim; /* count <= 2^33 and dim < 2^31: no wrap */
    return r > FP_COUNT_CAP ? FP_COUNT_CAP : r;
}

/* n * h * w * c by fp_mul_count (runtime/src/graph/fp_io_dims_count.c). Out of
 * line: inlined, it made each describe function ~250 bytes larger on the
 * Cortex-M4; one shared copy serves every op of an image. */
uint64_t fp_io_dims_count(const fp_dims_t *d);

/* Bytes of one element; 0 for an unknown dtype. */
static inline uint64_t fp_dtype_bytes(uint8_t dtype)
{
    switch (dtype) {
    case FP_DTYPE_S8: return 1;
    case FP_DTYPE_S16: return 2;
    default: return 0;
    }
}

static inline void fp_io_set_in(fp_io_need_t *io, uint32_t i, uint64_t count, uint8_t dtype)
{
    io->in_bytes[i] = count * fp_dtype_bytes(dtype);
    io->in_dtype[i] = dtype;
}

static inline void fp_io_set_out(fp_io_need_t *io, uint64_t count, uint8_t dtype)
{
    io->out_bytes = count * fp_dtype_bytes(dtype);
    io->out_dtype = dtype;
}

/* One arena input of `in` elements, an output of `out` elements, both act. */
static inline fp_status_t fp_io_unary(fp_io_need_t *io, uint64_t in, uint64_t out, uint8_t act)
{
    io->n_in = 1;
    fp_io_set_in(io, 0, in, act);
    fp_io_set_out(io, out, act);
    return FP_OK;
}

/* A binary op (add, mul, minimum, maximum): two arena inputs, or one when
 * the layer has one (input2 is then its constant `weights`). */
static inline fp_status_t fp_io_binary(const fp_layer_t *layer, const fp_dims_t *in1, const fp_dims_t *in2,
                                         const fp_dims_t *out, uint8_t act, fp_io_need_t *io)
{
    io->n_in = layer->n_inputs == 1 ? 1u : 2u;
    io->const_in1 = io->n_in == 1 ? 1u : 0u;
    fp_io_set_in(io, 0, fp_io_dims_count(in1), act);
    fp_io_set_in(io, 1, fp_io_dims_count(in2), act);
    fp_io_set_out(io, fp_io_dims_count(out), act);
    return FP_OK;
}

#endif /* FP_DESCRIBE_H */
