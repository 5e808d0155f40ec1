/* fp_io_dims_count - elements of a params dims (n * h * w * c), for the describe
 * functions: 0 if a dim is not positive, saturated at FP_COUNT_CAP
 * (internal/fp_describe.h). Shared by every op, so it is not per-op code. */
#include "fp_types.h"
#include "../internal/fp_describe.h"

uint64_t fp_io_dims_count(const fp_dims_t *d)
{
    return fp_mul_count(fp_mul_count(fp_mul_count(fp_mul_count(1, d->n), d->h), d->w), d->c);
}
