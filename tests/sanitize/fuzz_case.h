/*
 * fuzz_case.h - random runtime layers for the sanitizer driver (fuzz_runtime.c):
 * a consistent small configuration per op, buffers sized exactly, and a list
 * of fields that hostile cases overwrite. See fuzz_runtime.c.
 */
#ifndef FUZZ_CASE_H
#define FUZZ_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "fp_runtime.h"

#define MAX_FIELDS 64
#define MAX_OWNED 16

/* ---- one case: a layer plus what its buffers must hold ------------------ */

/* DIM: made smaller or non-positive; ANY: any value; U8: any byte; COUNT: any
 * value, and it decides which other dims matter (concat n_inputs), so a
 * non-positive dim it excludes need not be rejected. */
typedef enum { FIELD_DIM, FIELD_ANY, FIELD_U8, FIELD_COUNT } field_kind_t;

typedef struct {
    void *ptr;
    field_kind_t kind;
} field_t;

typedef struct {
    fp_layer_t layer;
    uint32_t n_in;
    size_t in_bytes[8];
    uint8_t in_dtype[8];
    size_t out_bytes;
    uint8_t out_dtype;
    field_t fields[MAX_FIELDS];
    int n_fields;
    void *owned[MAX_OWNED];
    int n_owned;
    uint8_t variant; /* fz_kernel_t.variant */
} fz_case_t;

/* Kernels the graph executor does not dispatch, called directly only:
 * FZ_ACC32 = fp_*_s16_acc32 (int32 bias), FZ_S8_S16 = fp_softmax_s8_s16. */
enum { FZ_PLAIN = 0, FZ_ACC32 = 1, FZ_S8_S16 = 2 };

typedef struct {
    const char *name;
    uint8_t op;
    uint8_t datapath;
    uint8_t out_dtype; /* requantize only */
    long cases, ok, rejected;
    uint8_t variant;   /* FZ_PLAIN, FZ_ACC32, FZ_S8_S16 */
} fz_kernel_t;

uint32_t rnd(void);
int32_t rnd_in(int32_t lo, int32_t hi);
int32_t hostile_i32(void);
void rnd_seed(uint64_t seed);
void *owned(fz_case_t *c, size_t bytes);
void free_case(fz_case_t *c);
size_t elsize(uint8_t dtype);
fp_dims_t rdims(int32_t n, int32_t h, int32_t w, int32_t c);
/* A fresh consistent case of kernel k (op, datapath, out_dtype). */
void generate(fz_case_t *c, const fz_kernel_t *k);
/* Overwrite 1..3 registered fields with extreme values; returns 1 when the
 * kernel must now return FP_ERR_ARG (a dim became non-positive). */
int mutate(fz_case_t *c);

#endif /* FUZZ_CASE_H */
