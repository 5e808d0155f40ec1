/*
 * ns16550.c - NS16550A UART (QEMU riscv virt at 0x10000000, PLIC source 10).
 * Receive: the "data available" / character-timeout interrupt (IER bit 0
 * enables both) drains the FIFO into the receive queue.
 * Transmit: poll THR empty.
 */
#include <stdint.h>

#include "fw_config.h"
#include "fw_cpu.h"
#include "fw_platform.h"
#include "fw_rxq.h"

#ifndef FW_UART_REG_SHIFT
#define FW_UART_REG_SHIFT 0 /* register stride 1 << shift bytes */
#endif

#define FW_UART_REG(idx) \
    (*(volatile uint8_t *)(uintptr_t)(FW_UART_BASE + ((uint32_t)(idx) << FW_UART_REG_SHIFT)))
#define FW_UART_RBR FW_UART_REG(0) /* read */
#define FW_UART_THR FW_UART_REG(0) /* write */
#define FW_UART_DLL FW_UART_REG(0) /* with LCR.DLAB */
#define FW_UART_IER FW_UART_REG(1)
#define FW_UART_DLM FW_UART_REG(1) /* with LCR.DLAB */
#define FW_UART_FCR FW_UART_REG(2)
#define FW_UART_LCR FW_UART_REG(3)
#define FW_UART_MCR FW_UART_REG(4)
#define FW_UART_LSR FW_UART_REG(5)

#define FW_LCR_DLAB 0x80u
#define FW_LCR_8N1 0x03u
/* FIFO on, both cleared, receive trigger at 14 bytes. QEMU hands the UART
 * only as many bytes as the trigger level allows per round trip, so level 1
 * means one main-loop round trip per byte (measured ~8 kB/s into the target);
 * at 14 it is ~30 kB/s. A frame's tail below 14 bytes arrives through the
 * character-timeout interrupt (4 character times). */
#define FW_FCR_FIFO_TRIGGER14 0xC7u
#define FW_MCR_DTR_RTS_OUT2 0x0Bu /* OUT2 gates the IRQ line on PC-style 16550s */
#define FW_IER_RX_AVAILABLE 0x01u
#define FW_LSR_DATA_READY 0x01u
#define FW_LSR_THR_EMPTY 0x20u

void fw_uart_init(void)
{
    uint32_t divisor = FW_UART_CLOCK_HZ / (16u * FW_UART_BAUD);

    FW_UART_IER = 0u;
    FW_UART_LCR = FW_LCR_DLAB;
    FW_UART_DLL = (uint8_t)(divisor & 0xFFu);
    FW_UART_DLM = (uint8_t)((divisor >> 8) & 0xFFu);
    FW_UART_LCR = FW_LCR_8N1;
    FW_UART_FCR = FW_FCR_FIFO_TRIGGER14;
    FW_UART_MCR = FW_MCR_DTR_RTS_OUT2;
    FW_UART_IER = FW_IER_RX_AVAILABLE;
    fw_irq_line_enable(FW_UART_RX_IRQ);
}

void fw_uart_write(const uint8_t *data, size_t len)
{
    size_t i;

    for (i = 0; i < len; ++i) {
        while ((FW_UART_LSR & FW_LSR_THR_EMPTY) == 0u) {
        }
        FW_UART_THR = data[i];
    }
}

/* With the queue full, stop: the bytes stay in the FIFO and QEMU holds back
 * the next ones until fw_uart_rx_resume(). */
void fw_uart_isr(void)
{
    while ((FW_UART_LSR & FW_LSR_DATA_READY) != 0u) {
        if (fw_rxq_full()) {
            FW_UART_IER = 0u;
            fw_rxq_pause();
            return;
        }
        fw_rxq_push(FW_UART_RBR);
    }
}

void fw_uart_rx_resume(void)
{
    fw_cpu_irq_mask();
    FW_UART_IER = FW_IER_RX_AVAILABLE;
    fw_uart_isr(); /* below the trigger level only a timeout would announce it */
    fw_cpu_irq_unmask();
}

int fw_uart_read_byte(void)
{
    return fw_rxq_wait_pop();
}
