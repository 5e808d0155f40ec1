/*
 * fw_platform.h - what a board port provides to the portable firmware core.
 *
 * A board build links exactly one implementation of each group:
 *   startup/<arch>.c       fw_platform_*, fw_irq_line_enable
 *   uart/<driver>.c        fw_uart_*
 *   counter/<counter>.c    fw_counter_*
 * The build driver (fixpoint.boards.build) picks the files named in the
 * board's board.toml and generates fw_board_config.h with its constants.
 */
#ifndef FW_PLATFORM_H
#define FW_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* ---- startup / platform ------------------------------------------------ */

/* Called first thing in main(): interrupt controller, optional board init. */
void fw_platform_init(void);
/* Stop the firmware for good: semihosting exit on QEMU, exit() on the host,
 * a system reset on hardware. Never returns. */
void fw_platform_exit(int code);
/* Route interrupt line `irq` of the board's interrupt controller to the CPU. */
void fw_irq_line_enable(uint32_t irq);
/* Mask (hold != 0) or unmask line `irq` at the interrupt controller only,
 * leaving the device's own enables and pending state alone: bytes that arrive
 * meanwhile wait in the UART (and the host's link buffers). Used around a
 * timed run, so that no receive interrupt lands in an instruction count. */
void fw_irq_line_hold(uint32_t irq, int hold);

/* ---- UART -------------------------------------------------------------- */

void fw_uart_init(void);
/* Blocking write of all `len` bytes. */
void fw_uart_write(const uint8_t *data, size_t len);
/* Next received byte (0..255); sleeps until one arrives. Returns -1 only when
 * the link is gone for good (host board: the pty was closed). */
int fw_uart_read_byte(void);
/* Interrupt service routine of the receive interrupt (not on the host). */
void fw_uart_isr(void);
/* Re-enable reception after the ISR paused it because the receive queue was
 * full (fw_rxq.h), and collect what waits in the UART meanwhile. */
void fw_uart_rx_resume(void);

/* ---- cycle / instruction counter -------------------------------------- */

enum {
    FW_UNIT_INSTRUCTIONS = 0, /* exact executed instructions (QEMU -icount) */
    FW_UNIT_CYCLES = 1,       /* core clock cycles (hardware) */
    FW_UNIT_NANOSECONDS = 2   /* wall clock (host board) */
};

void fw_counter_init(void);
/* Begin a measurement and return the raw start value. A counter extended by
 * an overflow interrupt (SysTick) is restarted here, so that every measured
 * run sees its interrupts at the same instruction offsets and instruction
 * counts repeat exactly. */
uint64_t fw_counter_start(void);
/* End a measurement begun by fw_counter_start(). The SysTick counter stops
 * (it runs only while measuring): an idle emulated board then has no timer
 * deadline, so QEMU with `-icount sleep=off` waits for the link instead of
 * racing its virtual clock through wrap interrupts. A no-op elsewhere. */
void fw_counter_stop(void);
/* Raw counter value; only differences from fw_counter_start() are meaningful. */
uint64_t fw_counter_now(void);
/* Raw difference end - start converted to fw_counter_unit() units. */
uint64_t fw_counter_elapsed(uint64_t start, uint64_t end);
uint8_t fw_counter_unit(void);
/* Nonzero when the counter takes interrupt handlers out of its counts
 * exactly (QEMU's instruction counter): then the receive interrupt may run
 * during a timed run, and bytes the host pipelines behind RUN_NEXT arrive
 * while the model computes. Otherwise it is held (fw_irq_line_hold). */
int fw_counter_excludes_isr(void);
/* Around the receive interrupt's handler (Cortex-M vector): enter returns
 * a mark, leave takes the handler's instructions out of the measurement
 * under way. No-ops for counters that cannot. */
uint32_t fw_counter_isr_enter(void);
void fw_counter_isr_leave(uint32_t mark);

#endif /* FW_PLATFORM_H */
