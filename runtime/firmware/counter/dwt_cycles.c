/*
 * dwt_cycles.c - core clock cycles from the DWT cycle counter (real
 * Cortex-M3/M4/M7/M33/M55 silicon; QEMU does not implement it).
 * CYCCNT is 32 bits: differences are exact for runs shorter than 2^32
 * cycles (20 s at 216 MHz).
 */
#include <stdint.h>

#include "fw_platform.h"

#define FW_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define FW_DEMCR 0xE000EDFCu
#define FW_DEMCR_TRCENA (1u << 24)
#define FW_DWT_CTRL 0xE0001000u
#define FW_DWT_CYCCNT 0xE0001004u
#define FW_DWT_LAR 0xE0001FB0u
#define FW_DWT_LAR_KEY 0xC5ACCE55u

/* The vector table always names a SysTick handler; this counter needs none. */
void fw_systick_handler(void)
{
}

void fw_counter_init(void)
{
    FW_REG(FW_DEMCR) |= FW_DEMCR_TRCENA;
    FW_REG(FW_DWT_LAR) = FW_DWT_LAR_KEY; /* Cortex-M7 locks the DWT after reset */
    FW_REG(FW_DWT_CYCCNT) = 0u;
    FW_REG(FW_DWT_CTRL) |= 1u;
}

uint64_t fw_counter_now(void)
{
    return FW_REG(FW_DWT_CYCCNT);
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
    return (uint32_t)((uint32_t)end - (uint32_t)start);
}

uint8_t fw_counter_unit(void)
{
    return FW_UNIT_CYCLES;
}
