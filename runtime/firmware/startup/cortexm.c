/*
 * cortexm.c - startup for every Cortex-M board (M3, M4, M7, M33, M55).
 *
 * No assembly needed: the core loads SP and PC from the vector table itself,
 * so the reset handler is plain C. It enables the FPU (before any compiled
 * code may touch an FP register), copies .data, zeroes .bss, points VTOR at
 * our table, sets the stack limit on v8-M and calls main().
 *
 * Only the interrupts the firmware uses get a vector: the UART receive IRQ
 * (board.toml uart.rx_irq) and SysTick. An IRQ with a NULL vector can only
 * fire if someone enables it; the core then faults (vector fetch of 0) and
 * fw_fault_handler reports it, which is the behaviour we want anyway.
 */
#include <stdint.h>
#include <string.h>

#include "fw_config.h"
#include "fw_fault.h"
#include "fw_platform.h"
#include "fw_semihost.h"

#define FW_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define FW_SCB_VTOR 0xE000ED08u
#define FW_SCB_AIRCR 0xE000ED0Cu
#define FW_SCB_CPACR 0xE000ED88u
#define FW_NVIC_ISER 0xE000E100u
#define FW_NVIC_ICER 0xE000E180u
#define FW_AIRCR_SYSRESETREQ 0x05FA0004u

extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __data_load[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_limit[];
extern uint32_t __stack_top[];

int main(void);
void fw_reset_handler(void);
void fw_fault_handler(void);
void fw_fault_report_frame(const uint32_t *frame, uint32_t exc_return);
/* Provided by the Cortex-M counter (counter/systick_icount.c, dwt_cycles.c). */
void fw_systick_handler(void);
#if FW_HAS_BOARD_INIT
void fw_board_init(void); /* clocks and pins, in the board folder */
#endif

/* The receive interrupt, kept out of instruction counts (fw_counter_isr_*). */
static void fw_uart_rx_vector(void)
{
    uint32_t mark = fw_counter_isr_enter();

    fw_uart_isr();
    fw_counter_isr_leave(mark);
}

typedef void (*fw_vector_t)(void);

typedef struct {
    uint32_t *stack_top;
    fw_vector_t exceptions[15]; /* exception numbers 1..15 */
    fw_vector_t irqs[FW_UART_RX_IRQ + 1];
} fw_vector_table_t;

__attribute__((section(".vectors"), used))
const fw_vector_table_t fw_vector_table = {
    __stack_top,
    {
        fw_reset_handler, /* 1 Reset */
        fw_fault_handler, /* 2 NMI */
        fw_fault_handler, /* 3 HardFault */
        fw_fault_handler, /* 4 MemManage */
        fw_fault_handler, /* 5 BusFault */
        fw_fault_handler, /* 6 UsageFault */
        fw_fault_handler, /* 7 SecureFault (v8-M) */
        NULL, NULL, NULL, /* 8-10 reserved */
        fw_fault_handler, /* 11 SVCall: never used, so a fault */
        fw_fault_handler, /* 12 DebugMonitor */
        NULL,             /* 13 reserved */
        fw_fault_handler, /* 14 PendSV: never used */
        fw_systick_handler, /* 15 SysTick */
    },
    {[FW_UART_RX_IRQ] = fw_uart_rx_vector},
};

static void fw_fpu_enable(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    /* Full access to CP10/CP11 (FPU and, on M55, Helium). */
    FW_REG(FW_SCB_CPACR) |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
}

static void fw_stack_limit_enable(void)
{
#if defined(__ARM_ARCH_8M_MAIN__) || defined(__ARM_ARCH_8_1M_MAIN__)
    /* v8-M: a stack overflow becomes a UsageFault instead of silent corruption. */
    __asm__ volatile("msr msplim, %0" ::"r"(__stack_limit));
#endif
}

static size_t fw_span(const uint32_t *start, const uint32_t *end)
{
    return (size_t)((uintptr_t)end - (uintptr_t)start);
}

void fw_reset_handler(void)
{
    fw_fpu_enable();
    memcpy(__data_start, __data_load, fw_span(__data_start, __data_end));
    memset(__bss_start, 0, fw_span(__bss_start, __bss_end));
    FW_REG(FW_SCB_VTOR) = (uint32_t)(uintptr_t)&fw_vector_table;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    fw_stack_limit_enable();
    (void)main();
    fw_platform_exit(0);
}

/* Naked so that MSP still points at the exception frame; every exception
 * runs on MSP here (the firmware never switches to PSP). */
__attribute__((naked)) void fw_fault_handler(void)
{
    __asm__ volatile("mrs r0, msp\n\tmov r1, lr\n\tb fw_fault_report_frame\n");
}

static const char *fw_exception_name(uint32_t number)
{
    static const char *const names[] = {
        "exception", "reset", "NMI", "HardFault", "MemManage", "BusFault",
        "UsageFault", "SecureFault", "exception", "exception", "exception",
        "SVCall", "DebugMonitor", "exception", "PendSV", "SysTick",
    };

    return number < sizeof names / sizeof names[0] ? names[number] : "IRQ";
}

void fw_fault_report_frame(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;

    (void)exc_return;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    ipsr &= 0x1FFu;
    /* frame: r0 r1 r2 r3 r12 lr pc xpsr; detail = exception number */
    fw_fault_stop(fw_exception_name(ipsr), frame[6], ipsr);
}

void fw_platform_init(void)
{
#if FW_HAS_BOARD_INIT
    fw_board_init();
#endif
}

void fw_irq_line_enable(uint32_t irq)
{
    FW_REG(FW_NVIC_ISER + 4u * (irq / 32u)) = 1u << (irq % 32u);
    __asm__ volatile("cpsie i" ::: "memory");
}

void fw_irq_line_hold(uint32_t irq, int hold)
{
    FW_REG((hold ? FW_NVIC_ICER : FW_NVIC_ISER) + 4u * (irq / 32u)) = 1u << (irq % 32u);
    /* the line is masked before the next instruction (the timed region) starts */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
}

void fw_platform_exit(int code)
{
#if FW_SEMIHOSTING
    fw_semihost_exit(code);
#else
    (void)code;
    FW_REG(FW_SCB_AIRCR) = FW_AIRCR_SYSRESETREQ;
#endif
    for (;;) {
        __asm__ volatile("wfi");
    }
}

uint32_t fw_semihost_call(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;

    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}
