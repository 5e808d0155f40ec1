/*
 * systick_icount.c - exact instruction counts on QEMU Cortex-M boards.
 *
 * QEMU's DWT cycle counter reads 0, and SysTick runs from the board's system
 * clock (25 MHz on mps2-an385/386/500, 20 MHz on an505, 32 MHz on an547)
 * against QEMU's virtual clock. With `-icount shift=S` every instruction
 * advances the virtual clock by exactly 2^S ns, so
 *     instructions = ticks * 1e9 / (FW_COUNTER_HZ * 2^S).
 * Measured: with S = 0 one SysTick tick spans 40 instructions (useless); with
 * S = 8 one instruction spans 5..8 ticks, so rounding the scaled difference
 * recovers the exact count (tick quantisation error < 0.5 instruction).
 * The 24-bit counter is extended to 64 bits by counting wraps in the SysTick
 * interrupt (one every ~2.6 M instructions at 25 MHz and S = 8).
 */
#include <stdint.h>

#include "fw_config.h"
#include "fw_platform.h"

#define FW_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define FW_SYST_CSR 0xE000E010u
#define FW_SYST_RVR 0xE000E014u
#define FW_SYST_CVR 0xE000E018u
#define FW_SCB_ICSR 0xE000ED04u
#define FW_ICSR_PENDSTSET (1u << 26)
#define FW_ICSR_PENDSTCLR (1u << 25)
#define FW_SYST_RELOAD 0x00FFFFFFu
/* CLKSOURCE = processor clock, TICKINT, ENABLE */
#define FW_SYST_CSR_RUN 0x7u

#if !defined(FW_COUNTER_HZ) || !defined(FW_ICOUNT_SHIFT)
#error "systick_icount needs FW_COUNTER_HZ and FW_ICOUNT_SHIFT (board.toml [timing])"
#endif

static volatile uint32_t fw_systick_wraps;
static uint64_t fw_scale_num; /* instructions = ticks * num / den, reduced */
static uint64_t fw_scale_den;

void fw_systick_handler(void)
{
    fw_systick_wraps++;
}

static uint64_t fw_gcd(uint64_t a, uint64_t b)
{
    while (b != 0u) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void fw_counter_init(void)
{
    uint64_t num = 1000000000u;
    uint64_t den = (uint64_t)FW_COUNTER_HZ << FW_ICOUNT_SHIFT;
    uint64_t g = fw_gcd(num, den);

    fw_scale_num = num / g;
    fw_scale_den = den / g;
    FW_REG(FW_SYST_RVR) = FW_SYST_RELOAD;
    FW_REG(FW_SYST_CVR) = 0u;
    FW_REG(FW_SYST_CSR) = 0u; /* runs only between fw_counter_start() and fw_counter_stop() */
}

/* A wrap may be pending but not yet counted (interrupts masked, or QEMU
 * taking it only at the end of the translation block): then re-read the
 * counter, which is now certainly past the wrap, and count the wrap. */
uint64_t fw_counter_now(void)
{
    uint32_t primask;
    uint32_t value;
    uint32_t wraps;

    /* Save and restore PRIMASK rather than unmask: callers may run masked. */
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    value = FW_REG(FW_SYST_CVR);
    wraps = fw_systick_wraps;
    if ((FW_REG(FW_SCB_ICSR) & FW_ICSR_PENDSTSET) != 0u) {
        value = FW_REG(FW_SYST_CVR);
        wraps++;
    }
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
    return ((uint64_t)wraps << 24) + (uint64_t)(FW_SYST_RELOAD - value);
}

/* Restart from the reload value with no wrap pending: the wraps (and the
 * few instructions of their interrupt) then fall at the same instruction
 * offsets of every measured run. Otherwise their phase would depend on how
 * long the board idled before the request (QEMU's virtual clock follows real
 * time while the CPU sleeps) and counts would jitter by one handler. */
uint64_t fw_counter_start(void)
{
    uint32_t primask;

    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    FW_REG(FW_SYST_CVR) = 0u; /* any write clears the counter and COUNTFLAG */
    FW_REG(FW_SCB_ICSR) = FW_ICSR_PENDSTCLR;
    fw_systick_wraps = 0u;
    FW_REG(FW_SYST_CSR) = FW_SYST_CSR_RUN;
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
    return fw_counter_now();
}

/* An idle board keeps no SysTick deadline (see fw_platform.h). */
void fw_counter_stop(void)
{
    FW_REG(FW_SYST_CSR) = 0u;
    FW_REG(FW_SCB_ICSR) = FW_ICSR_PENDSTCLR;
}

/* Round(ticks * num / den) without overflowing 64 bits: num and den are
 * reduced (e.g. 5/32 at 25 MHz, S = 8), and the remainder term r * num
 * stays below den * num. */
uint64_t fw_counter_elapsed(uint64_t start, uint64_t end)
{
    uint64_t ticks = end - start;
    uint64_t q = ticks / fw_scale_den;
    uint64_t r = ticks % fw_scale_den;

    return q * fw_scale_num + (r * fw_scale_num + fw_scale_den / 2u) / fw_scale_den;
}

uint8_t fw_counter_unit(void)
{
    return FW_UNIT_INSTRUCTIONS;
}
