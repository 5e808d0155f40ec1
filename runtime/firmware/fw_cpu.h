/*
 * fw_cpu.h - the three CPU primitives the receive path needs to sleep
 * without losing a wake-up: mask interrupts, wait for one, unmask.
 *
 * Both Cortex-M (PRIMASK) and RISC-V (mstatus.MIE) wake from WFI on a
 * pending enabled interrupt even while interrupts are masked; the interrupt
 * is then taken right after unmasking. So "mask; if (nothing queued) wfi;
 * unmask" cannot sleep through a byte that arrived after the check.
 */
#ifndef FW_CPU_H
#define FW_CPU_H

#if defined(__arm__)

static inline void fw_cpu_irq_mask(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static inline void fw_cpu_irq_unmask(void)
{
    __asm__ volatile("cpsie i" ::: "memory");
}

static inline void fw_cpu_wfi(void)
{
    __asm__ volatile("dsb\n\twfi" ::: "memory");
}

#elif defined(__riscv)

static inline void fw_cpu_irq_mask(void)
{
    __asm__ volatile("csrci mstatus, 8" ::: "memory");
}

static inline void fw_cpu_irq_unmask(void)
{
    __asm__ volatile("csrsi mstatus, 8" ::: "memory");
}

static inline void fw_cpu_wfi(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

#else /* host build: the UART driver blocks in read(), nothing to mask */

static inline void fw_cpu_irq_mask(void)
{
}

static inline void fw_cpu_irq_unmask(void)
{
}

static inline void fw_cpu_wfi(void)
{
}

#endif

#endif /* FW_CPU_H */
