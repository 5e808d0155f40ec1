/*
 * stm32_usart.c - STM32F7/L4/H7-style USART (ISR/ICR/RDR/TDR register set).
 * Clocks and pin muxing are board specific: the board's fw_board_init()
 * (board folder, e.g. boards/nucleo-f746zg/board_init.c) enables them first.
 */
#include <stdint.h>

#include "fw_config.h"
#include "fw_cpu.h"
#include "fw_platform.h"
#include "fw_rxq.h"

#define FW_USART_REG(off) (*(volatile uint32_t *)(uintptr_t)(FW_UART_BASE + (off)))
#define FW_USART_CR1 FW_USART_REG(0x00u)
#define FW_USART_BRR FW_USART_REG(0x0Cu)
#define FW_USART_ISR FW_USART_REG(0x1Cu)
#define FW_USART_ICR FW_USART_REG(0x20u)
#define FW_USART_RDR FW_USART_REG(0x24u)
#define FW_USART_TDR FW_USART_REG(0x28u)

#define FW_CR1_UE (1u << 0)
#define FW_CR1_RE (1u << 2)
#define FW_CR1_TE (1u << 3)
#define FW_CR1_RXNEIE (1u << 5)
#define FW_ISR_ORE (1u << 3)
#define FW_ISR_RXNE (1u << 5)
#define FW_ISR_TXE (1u << 7)
#define FW_ICR_ORECF (1u << 3)

void fw_uart_init(void)
{
    FW_USART_CR1 = 0u;
    /* Oversampling by 16: BRR = f_ck / baud, rounded. */
    FW_USART_BRR = (FW_UART_CLOCK_HZ + FW_UART_BAUD / 2u) / FW_UART_BAUD;
    FW_USART_CR1 = FW_CR1_UE | FW_CR1_RE | FW_CR1_TE | FW_CR1_RXNEIE;
    fw_irq_line_enable(FW_UART_RX_IRQ);
}

void fw_uart_write(const uint8_t *data, size_t len)
{
    size_t i;

    for (i = 0; i < len; ++i) {
        while ((FW_USART_ISR & FW_ISR_TXE) == 0u) {
        }
        FW_USART_TDR = data[i];
    }
}

/* An overrun also raises the RXNE interrupt and would re-fire forever if not
 * cleared; the lost byte is caught by the frame CRC and the host retries.
 * With the queue full, stop reading until fw_uart_rx_resume(). */
void fw_uart_isr(void)
{
    if ((FW_USART_ISR & FW_ISR_ORE) != 0u) {
        FW_USART_ICR = FW_ICR_ORECF;
    }
    while ((FW_USART_ISR & FW_ISR_RXNE) != 0u) {
        if (fw_rxq_full()) {
            FW_USART_CR1 &= ~FW_CR1_RXNEIE;
            fw_rxq_pause();
            return;
        }
        fw_rxq_push((uint8_t)(FW_USART_RDR & 0xFFu));
    }
}

void fw_uart_rx_resume(void)
{
    fw_cpu_irq_mask();
    FW_USART_CR1 |= FW_CR1_RXNEIE;
    fw_uart_isr();
    fw_cpu_irq_unmask();
}

int fw_uart_read_byte(void)
{
    return fw_rxq_wait_pop();
}
