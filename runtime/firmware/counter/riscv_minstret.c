/*
 * riscv_minstret.c - instructions retired (minstret). QEMU counts them
 * exactly under -icount shift=0; on silicon it is exact by definition.
 */
#include <stdint.h>

#include "fw_platform.h"

void fw_counter_init(void)
{
    /* minstret runs from reset; clear mcountinhibit.IR in case a boot ROM set it. */
    __asm__ volatile("csrci 0x320, 4");
}

/* Read the 64-bit counter as two halves; retry if the low half wrapped. */
uint64_t fw_counter_now(void)
{
    uint32_t hi;
    uint32_t lo;
    uint32_t hi2;

    do {
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi));
        __asm__ volatile("csrr %0, minstret" : "=r"(lo));
        __asm__ volatile("csrr %0, minstreth" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

uint64_t fw_counter_start(void)
{
    return fw_counter_now(); /* no interrupts involved: nothing to re-phase */
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
    return FW_UNIT_INSTRUCTIONS;
}
