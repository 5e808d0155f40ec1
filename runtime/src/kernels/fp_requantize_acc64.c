/* fp_requantize_acc64 - scale one 64-bit accumulator (conformance entry). */
#include "fp_runtime.h"
#include "../internal/fp_requant.h"

int32_t fp_requantize_acc64(int64_t acc, int32_t multiplier, int32_t shift, fp_rq_mode_t mode)
{
    return fp_requant64(acc, multiplier, shift, mode);
}
