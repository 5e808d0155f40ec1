/*
 * fw_rxq.h - receive queue between a UART interrupt (single producer) and the
 * command loop (single consumer). Interrupt-driven UART drivers push from
 * their ISR and implement fw_uart_read_byte() as fw_rxq_wait_pop().
 */
#ifndef FW_RXQ_H
#define FW_RXQ_H

#include <stdint.h>

/* ISR side: queue one byte; returns 0 (byte dropped) if the queue is full. */
int fw_rxq_push(uint8_t byte);
/* Command-loop side: next byte, sleeping (WFI) while the queue is empty. */
int fw_rxq_wait_pop(void);
/* Bytes dropped because the queue was full (only possible on hardware). */
uint32_t fw_rxq_dropped(void);

#endif /* FW_RXQ_H */
