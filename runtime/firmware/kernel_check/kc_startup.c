/*
 * kc_startup.c - startup of the kernel check / benchmark firmware
 * (kc_check.c, kc_bench.c): a bare Cortex-M image for the QEMU boards with
 * semihosting, no UART and no protocol. Vector table (SysTick feeds the
 * repo's counter/systick_icount.c), .data / .bss set-up, FPU on, main(),
 * exit code to QEMU. Faults print their number and exit with 3.
 */
#include <stdint.h>
#include <string.h>

#include "kc_common.h"

#define KC_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))
#define KC_SCB_VTOR 0xE000ED08u
#define KC_SCB_CPACR 0xE000ED88u
#define KC_SCB_ICSR 0xE000ED04u

extern uint32_t __data_start[];
extern uint32_t __data_end[];
extern uint32_t __data_load[];
extern uint32_t __bss_start[];
extern uint32_t __bss_end[];
extern uint32_t __stack_top[];

int main(void);
void fw_reset_handler(void);
void kc_fault_handler(void);
void fw_systick_handler(void);

typedef void (*kc_vector_t)(void);

typedef struct {
    uint32_t *stack_top;
    kc_vector_t exceptions[15];
} kc_vector_table_t;

__attribute__((section(".vectors"), used)) const kc_vector_table_t kc_vector_table = {
    __stack_top,
    {fw_reset_handler, kc_fault_handler, kc_fault_handler, kc_fault_handler, kc_fault_handler,
     kc_fault_handler, kc_fault_handler, NULL, NULL, NULL, kc_fault_handler, kc_fault_handler,
     NULL, kc_fault_handler, fw_systick_handler},
};

static uint32_t kc_semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void kc_write(const char *s)
{
    (void)kc_semihost(0x04u, s); /* SYS_WRITE0 */
}

void kc_exit(int code)
{
    const uint32_t block[2] = {0x20026u, (uint32_t)code}; /* ADP_Stopped_ApplicationExit */
    (void)kc_semihost(0x20u, block);                       /* SYS_EXIT_EXTENDED */
    for (;;) {
    }
}

void kc_fault_handler(void)
{
    char msg[40];
    uint32_t n = KC_REG(KC_SCB_ICSR) & 0x1FFu;
    kc_format(msg, sizeof msg, "fault: exception %u\n", n);
    kc_write(msg);
    kc_exit(3);
}

void fw_reset_handler(void)
{
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
    KC_REG(KC_SCB_CPACR) |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    memcpy(__data_start, __data_load, (size_t)((uintptr_t)__data_end - (uintptr_t)__data_start));
    memset(__bss_start, 0, (size_t)((uintptr_t)__bss_end - (uintptr_t)__bss_start));
    KC_REG(KC_SCB_VTOR) = (uint32_t)(uintptr_t)&kc_vector_table;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    kc_exit(main());
}
