/*
 * riscv.c - C side of the RV32 startup: .data/.bss, the machine-mode trap
 * handler and the PLIC.
 *
 * The UART receive interrupt arrives as a machine external interrupt through
 * the PLIC (QEMU virt: PLIC at 0x0C000000, NS16550A on source 10). The trap
 * handler claims it, runs the UART ISR and completes it. Every exception
 * (illegal instruction, access fault, a stray ebreak) is a fault.
 */
#include <stdint.h>
#include <string.h>

#include "fw_config.h"
#include "fw_fault.h"
#include "fw_platform.h"
#include "fw_semihost.h"

#define FW_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

#ifndef FW_PLIC_BASE
#define FW_PLIC_BASE 0x0C000000u
#endif
#define FW_PLIC_PRIORITY(irq) (FW_PLIC_BASE + 4u * (irq))
#define FW_PLIC_ENABLE(irq) (FW_PLIC_BASE + 0x2000u + 4u * ((irq) / 32u)) /* context 0 */
#define FW_PLIC_THRESHOLD (FW_PLIC_BASE + 0x200000u)
#define FW_PLIC_CLAIM (FW_PLIC_BASE + 0x200004u)

#define FW_MCAUSE_INTERRUPT 0x80000000u
#define FW_MCAUSE_MACHINE_EXTERNAL 11u
#define FW_MIE_MEIE (1u << 11)

extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __data_load[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];

int main(void);
void fw_reset_c(void);
void fw_trap_entry(void);
#if FW_HAS_BOARD_INIT
void fw_board_init(void);
#endif

static size_t fw_span(const uint32_t *start, const uint32_t *end)
{
    return (size_t)((uintptr_t)end - (uintptr_t)start);
}

void fw_reset_c(void)
{
    /* With -kernel the ELF is loaded straight into RAM (load == run address);
     * the copy only matters for images that start from ROM. */
    if ((uintptr_t)__data_load != (uintptr_t)__data_start) {
        memcpy(__data_start, __data_load, fw_span(__data_start, __data_end));
    }
    memset(__bss_start, 0, fw_span(__bss_start, __bss_end));
    (void)main();
    fw_platform_exit(0);
}

static uint32_t fw_csr_mcause(void)
{
    uint32_t v;
    __asm__ volatile("csrr %0, mcause" : "=r"(v));
    return v;
}

static uint32_t fw_csr_mepc(void)
{
    uint32_t v;
    __asm__ volatile("csrr %0, mepc" : "=r"(v));
    return v;
}

static void fw_plic_dispatch(void)
{
    uint32_t irq = FW_REG(FW_PLIC_CLAIM);

    if (irq == FW_UART_RX_IRQ) {
        fw_uart_isr();
    }
    if (irq != 0u) {
        FW_REG(FW_PLIC_CLAIM) = irq; /* complete */
    }
}

static const char *fw_exception_name(uint32_t cause)
{
    static const char *const names[] = {
        "instruction-misaligned", "instruction-access-fault", "illegal-instruction",
        "breakpoint", "load-misaligned", "load-access-fault", "store-misaligned",
        "store-access-fault", "ecall-u", "ecall-s", "exception", "ecall-m",
    };

    return cause < sizeof names / sizeof names[0] ? names[cause] : "exception";
}

/* The interrupt attribute saves every register it uses and returns with mret. */
__attribute__((interrupt("machine"), aligned(4))) void fw_trap_entry(void)
{
    uint32_t cause = fw_csr_mcause();

    if ((cause & FW_MCAUSE_INTERRUPT) == 0u) {
        fw_fault_stop(fw_exception_name(cause), fw_csr_mepc(), cause);
    }
    if ((cause & ~FW_MCAUSE_INTERRUPT) == FW_MCAUSE_MACHINE_EXTERNAL) {
        fw_plic_dispatch();
    }
}

void fw_platform_init(void)
{
#if FW_HAS_BOARD_INIT
    fw_board_init();
#endif
}

void fw_irq_line_enable(uint32_t irq)
{
    FW_REG(FW_PLIC_PRIORITY(irq)) = 1u;
    FW_REG(FW_PLIC_ENABLE(irq)) |= 1u << (irq % 32u);
    FW_REG(FW_PLIC_THRESHOLD) = 0u;
    __asm__ volatile("csrs mie, %0" ::"r"(FW_MIE_MEIE));
    __asm__ volatile("csrsi mstatus, 8" ::: "memory");
}

void fw_irq_line_hold(uint32_t irq, int hold)
{
    if (hold) {
        FW_REG(FW_PLIC_ENABLE(irq)) &= ~(1u << (irq % 32u));
    } else {
        FW_REG(FW_PLIC_ENABLE(irq)) |= 1u << (irq % 32u);
    }
    __asm__ volatile("fence" ::: "memory");
}

void fw_platform_exit(int code)
{
#if FW_SEMIHOSTING
    fw_semihost_exit(code);
#else
    (void)code;
#endif
    for (;;) {
        __asm__ volatile("wfi");
    }
}
