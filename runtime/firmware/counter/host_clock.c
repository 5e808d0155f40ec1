/* host_clock.c - wall-clock nanoseconds (CLOCK_MONOTONIC) on the host board;
 * there is no instruction count on a native process. */
#include <stdint.h>
#include <time.h>

#include "fw_platform.h"

void fw_counter_init(void)
{
}

uint64_t fw_counter_now(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0u;
    }
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t fw_counter_start(void)
{
    return fw_counter_now();
}

void fw_counter_stop(void)
{
}

uint64_t fw_counter_elapsed(uint64_t start, uint64_t end)
{
    return end - start;
}

uint8_t fw_counter_unit(void)
{
    return FW_UNIT_NANOSECONDS;
}
