/* fp_requantize_acc32 - scale one 32-bit accumulator (conformance entry). */
#include "fp_runtime.h"
#include "../internal/fp_requant.h"

int32_t fp_requantize_acc32(int32_t acc, int32_t multiplier, int32_t shift, fp_rq_mode_t mode)
{
    return fp_requant32(acc, multiplier, shift, mode);
}
