/*
 * fw_counter_isr.c - what a counter that cannot take interrupt handlers out
 * of its counts provides (fw_platform.h): nothing to exclude, so the receive
 * interrupt is held during timed runs. Weak: a counter that can
 * (counter/systick_icount.c) defines its own.
 */
#include <stdint.h>

#include "fw_platform.h"

__attribute__((weak)) int fw_counter_excludes_isr(void)
{
    return 0;
}

__attribute__((weak)) uint32_t fw_counter_isr_enter(void)
{
    return 0u;
}

__attribute__((weak)) void fw_counter_isr_leave(uint32_t mark)
{
    (void)mark;
}
