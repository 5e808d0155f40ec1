/*
 * cmsdk_uart.c - Arm CMSDK APB UART (MPS2/MPS3 FPGA images).
 *
 * Receive is interrupt driven: the RX register holds a single byte, and
 * QEMU delivers the next byte only after it was read, so the ISR moves each
 * byte into the receive queue and the command loop sleeps in WFI meanwhile.
 * Transmit polls TXFULL; the firmware only talks when it has something to say.
 */
#include <stdint.h>

#include "fw_config.h"
#include "fw_cpu.h"
#include "fw_platform.h"
#include "fw_rxq.h"

#define FW_UART_REG(off) (*(volatile uint32_t *)(uintptr_t)(FW_UART_BASE + (off)))
#define FW_UART_DATA FW_UART_REG(0x00u)
#define FW_UART_STATE FW_UART_REG(0x04u)
#define FW_UART_CTRL FW_UART_REG(0x08u)
#define FW_UART_INTCLEAR FW_UART_REG(0x0Cu)
#define FW_UART_BAUDDIV FW_UART_REG(0x10u)

#define FW_STATE_TXFULL (1u << 0)
#define FW_STATE_RXFULL (1u << 1)
#define FW_STATE_RXOVERRUN (1u << 3)
#define FW_CTRL_TXEN (1u << 0)
#define FW_CTRL_RXEN (1u << 1) /* without it QEMU delivers no input at all */
#define FW_CTRL_RXIE (1u << 3)
#define FW_INT_RX (1u << 1)

void fw_uart_init(void)
{
    /* The divider must be >= 16; QEMU does not model the baud rate. */
    FW_UART_BAUDDIV = FW_UART_CLOCK_HZ / FW_UART_BAUD;
    FW_UART_CTRL = FW_CTRL_TXEN | FW_CTRL_RXEN | FW_CTRL_RXIE;
    fw_irq_line_enable(FW_UART_RX_IRQ);
}

void fw_uart_write(const uint8_t *data, size_t len)
{
    size_t i;

    for (i = 0; i < len; ++i) {
        while ((FW_UART_STATE & FW_STATE_TXFULL) != 0u) {
        }
        FW_UART_DATA = data[i];
    }
}

/* Clear the interrupt before draining: a byte landing after the drain then
 * raises a fresh interrupt instead of being stranded. With the queue full,
 * stop: the byte stays in the UART and QEMU holds back the next ones. */
void fw_uart_isr(void)
{
    FW_UART_INTCLEAR = FW_INT_RX;
    if ((FW_UART_STATE & FW_STATE_RXOVERRUN) != 0u) {
        FW_UART_STATE = FW_STATE_RXOVERRUN; /* write 1 to clear */
    }
    while ((FW_UART_STATE & FW_STATE_RXFULL) != 0u) {
        if (fw_rxq_full()) {
            FW_UART_CTRL &= ~FW_CTRL_RXIE;
            fw_rxq_pause();
            return;
        }
        fw_rxq_push((uint8_t)(FW_UART_DATA & 0xFFu));
    }
}

/* The RX interrupt status is only latched while RXIE is set, so a byte that
 * arrived while paused raises nothing: drain it here. */
void fw_uart_rx_resume(void)
{
    fw_cpu_irq_mask();
    FW_UART_CTRL |= FW_CTRL_RXIE;
    fw_uart_isr();
    fw_cpu_irq_unmask();
}

int fw_uart_read_byte(void)
{
    return fw_rxq_wait_pop();
}
