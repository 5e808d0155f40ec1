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
 * Interrupts are not the model's work: the SysTick and receive handlers'
 * instructions are taken out of every count (each handler measures its own
 * window; what lies outside it is calibrated once at the first measurement),
 * so a count is the same whether or not bytes arrive during the run.
 */
#include <stdint.h>

#include "fw_config.h"
#include "fw_platform.h"

#define FW_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define FW_SYST_CSR 0xE000E010u
#define FW_SYST_RVR 0xE000E014u
#define FW_SYST_CVR 0xE000E018u
#define FW_SCB_ICSR 0xE000ED04u
#define FW_NVIC_ISPR 0xE000E200u
#define FW_ICSR_PENDSTSET (1u << 26)
#define FW_ICSR_PENDSTCLR (1u << 25)
#define FW_SYST_RELOAD 0x00FFFFFFu
/* CLKSOURCE = processor clock, TICKINT, ENABLE */
#define FW_SYST_CSR_RUN 0x7u

#if !defined(FW_COUNTER_HZ) || !defined(FW_ICOUNT_SHIFT)
#error "systick_icount needs FW_COUNTER_HZ and FW_ICOUNT_SHIFT (board.toml [timing])"
#endif

static volatile uint32_t fw_systick_wraps;
/* Instructions of interrupt handlers inside the measurement under way: they
 * are not the model's, so they are taken out of every count (the receive
 * interrupt may run during a timed run, see fw_counter_excludes_isr()). */
static volatile uint32_t fw_excluded;
static volatile uint8_t fw_measuring;
static uint32_t fw_scale_num; /* instructions = ticks * num / den, reduced */
static uint32_t fw_scale_den;
/* Instructions an interrupt adds outside the window it measures itself
 * (entry, exit, the bookkeeping), calibrated once on the running board. */
static uint32_t fw_wrap_cost;
static uint32_t fw_rx_cost;
static uint8_t fw_calibrated;

void fw_systick_handler(void)
{
    fw_systick_wraps++;
    if (fw_measuring != 0u) {
        fw_excluded += fw_wrap_cost;
    }
}

/* A difference of fewer than 2^24 ticks in whole instructions. 32-bit
 * arithmetic (one UDIV), so the instruction count of this code is fixed. */
static uint32_t fw_ticks_to_instructions(uint32_t ticks)
{
    return (ticks * fw_scale_num + fw_scale_den / 2u) / fw_scale_den;
}

uint32_t fw_counter_isr_enter(void)
{
    return FW_REG(FW_SYST_CVR);
}

/* SysTick counts down; a wrap inside the handler is taken care of by the
 * 24-bit modulo (the handler is far shorter than one period). */
void fw_counter_isr_leave(uint32_t mark)
{
    uint32_t ticks = (mark - FW_REG(FW_SYST_CVR)) & FW_SYST_RELOAD;

    if (fw_measuring != 0u) {
        fw_excluded += fw_ticks_to_instructions(ticks) + fw_rx_cost;
    }
}

int fw_counter_excludes_isr(void)
{
    return 1;
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

    /* Both fit 32 bits for every clock of the boards (5/32 at 25 MHz, S = 8). */
    fw_scale_num = (uint32_t)(num / g);
    fw_scale_den = (uint32_t)(den / g);
    FW_REG(FW_SYST_RVR) = FW_SYST_RELOAD;
    FW_REG(FW_SYST_CVR) = 0u;
    FW_REG(FW_SYST_CSR) = 0u; /* runs only between fw_counter_start() and fw_counter_stop() */
}

/* Instructions counted around one store of `value` to `reg`: the same code
 * whether or not the store raises an interrupt, so the difference of two
 * calls is exactly what the interrupt adds. */
__attribute__((noinline)) static uint32_t fw_instructions_around(uint32_t reg, uint32_t value)
{
    uint32_t before = FW_REG(FW_SYST_CVR);
    uint32_t after;

    FW_REG(reg) = value;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    after = FW_REG(FW_SYST_CVR);
    return fw_ticks_to_instructions((before - after) & FW_SYST_RELOAD);
}

/* Measure what one SysTick interrupt and one receive interrupt add to a
 * count, by raising each on purpose (interrupts unmasked, the receive line
 * held for the no-interrupt baseline so no real byte lands in it). */
static void fw_counter_calibrate(void)
{
    uint32_t primask;
    uint32_t base;

    __asm__ volatile("mrs %0, primask\n\tcpsie i" : "=r"(primask)::"memory");
    FW_REG(FW_SYST_CVR) = 0u;
    FW_REG(FW_SYST_CSR) = FW_SYST_CSR_RUN;
    fw_measuring = 1u;
#ifdef FW_UART_RX_IRQ
    fw_irq_line_hold(FW_UART_RX_IRQ, 1);
#endif
    base = fw_instructions_around(FW_SCB_ICSR, 0u); /* writing 0 to ICSR does nothing */
    fw_wrap_cost = fw_instructions_around(FW_SCB_ICSR, FW_ICSR_PENDSTSET) - base;
#ifdef FW_UART_RX_IRQ
    fw_irq_line_hold(FW_UART_RX_IRQ, 0);
    fw_excluded = 0u;
    fw_rx_cost = fw_instructions_around(FW_NVIC_ISPR + 4u * (FW_UART_RX_IRQ / 32u),
                                        1u << (FW_UART_RX_IRQ % 32u)) - base - fw_excluded;
#endif
    fw_measuring = 0u;
    fw_excluded = 0u;
    FW_REG(FW_SYST_CSR) = 0u;
    FW_REG(FW_SCB_ICSR) = FW_ICSR_PENDSTCLR;
    fw_calibrated = 1u;
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
}

/* A wrap may be pending but not yet counted (interrupts masked, or QEMU
 * taking it only at the end of the translation block): then re-read the
 * counter, which is now certainly past the wrap, and count the wrap. */
uint64_t fw_counter_now(void)
{
    uint32_t primask;
    uint32_t value;
    uint32_t wraps;
    uint32_t excluded;
    uint64_t ticks;

    /* Save and restore PRIMASK rather than unmask: callers may run masked. */
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    value = FW_REG(FW_SYST_CVR);
    wraps = fw_systick_wraps;
    excluded = fw_excluded;
    if ((FW_REG(FW_SCB_ICSR) & FW_ICSR_PENDSTSET) != 0u) {
        value = FW_REG(FW_SYST_CVR);
        wraps++;
    }
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
    ticks = ((uint64_t)wraps << 24) + (uint64_t)(FW_SYST_RELOAD - value);
    /* In 1/den instructions, interrupts taken out: ticks * num / den is the
     * instruction count, to within less than num/den (< 0.5) instruction. */
    return ticks * fw_scale_num - (uint64_t)excluded * fw_scale_den;
}

/* Restart from the reload value with no wrap pending: the wraps (and the
 * few instructions of their interrupt) then fall at the same instruction
 * offsets of every measured run. Otherwise their phase would depend on how
 * long the board idled before the request (QEMU's virtual clock follows real
 * time while the CPU sleeps) and counts would jitter by one handler. */
uint64_t fw_counter_start(void)
{
    uint32_t primask;

    if (fw_calibrated == 0u) {
        fw_counter_calibrate();
    }
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask)::"memory");
    FW_REG(FW_SYST_CVR) = 0u; /* any write clears the counter and COUNTFLAG */
    FW_REG(FW_SCB_ICSR) = FW_ICSR_PENDSTCLR;
    fw_systick_wraps = 0u;
    fw_excluded = 0u;
    fw_measuring = 1u;
    FW_REG(FW_SYST_CSR) = FW_SYST_CSR_RUN;
    __asm__ volatile("msr primask, %0" ::"r"(primask) : "memory");
    return fw_counter_now();
}

/* An idle board keeps no SysTick deadline (see fw_platform.h). */
void fw_counter_stop(void)
{
    fw_measuring = 0u;
    FW_REG(FW_SYST_CSR) = 0u;
    FW_REG(FW_SCB_ICSR) = FW_ICSR_PENDSTCLR;
}

/* Raw values are in 1/den instructions (fw_counter_now): round to whole
 * ones. The tick quantisation error of a difference stays below num/den of
 * an instruction, so the rounding recovers the exact count. */
uint64_t fw_counter_elapsed(uint64_t start, uint64_t end)
{
    int64_t scaled = (int64_t)(end - start);

    if (scaled <= 0) {
        return 0u;
    }
    return ((uint64_t)scaled + fw_scale_den / 2u) / fw_scale_den;
}

uint8_t fw_counter_unit(void)
{
    return FW_UNIT_INSTRUCTIONS;
}
