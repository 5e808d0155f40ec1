/*
 * fw_rxq.h - receive queue between a UART interrupt (single producer) and the
 * command loop (single consumer), with flow control.
 *
 * An emulated UART can deliver bytes faster than the command loop consumes
 * them (QEMU refills the 16550 FIFO the moment the ISR empties it), so the
 * queue never drops: when it is full the ISR stops reading, disables its
 * receive interrupt and calls fw_rxq_pause(); the bytes wait in the UART and
 * QEMU (or the line) holds back the rest. Once the command loop has drained
 * the queue to half, it calls the driver's fw_uart_rx_resume().
 */
#ifndef FW_RXQ_H
#define FW_RXQ_H

#include <stdint.h>

/* ISR side. */
int fw_rxq_full(void);
void fw_rxq_push(uint8_t byte); /* only after checking !fw_rxq_full() */
void fw_rxq_pause(void);        /* receive interrupt disabled: queue full */

/* Command-loop side: next byte, sleeping (WFI) while the queue is empty. */
int fw_rxq_wait_pop(void);

#endif /* FW_RXQ_H */
