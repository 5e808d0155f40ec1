/* fw_rxq.c - lock-free single-producer/single-consumer byte ring.
 *
 * head is written only by the ISR, tail only by the command loop; both are
 * free-running and wrap at 2^32, so head - tail is the fill level even
 * across the wrap (FW_RX_RING_SIZE is a power of two). `paused` is set by
 * the ISR (after it disabled its interrupt) and cleared by the command loop
 * (before it re-enables it), so the two never write it concurrently. */
#include "fw_rxq.h"

#include "fw_config.h"
#include "fw_cpu.h"
#include "fw_platform.h"

static volatile uint8_t fw_rxq_buf[FW_RX_RING_SIZE];
static volatile uint32_t fw_rxq_head;
static volatile uint32_t fw_rxq_tail;
static volatile uint8_t fw_rxq_paused;

static uint32_t fw_rxq_fill(void)
{
    return fw_rxq_head - fw_rxq_tail;
}

int fw_rxq_full(void)
{
    return fw_rxq_fill() >= FW_RX_RING_SIZE;
}

void fw_rxq_push(uint8_t byte)
{
    uint32_t head = fw_rxq_head;

    fw_rxq_buf[head & (FW_RX_RING_SIZE - 1u)] = byte;
    fw_rxq_head = head + 1u;
}

void fw_rxq_pause(void)
{
    fw_rxq_paused = 1u;
}

static void fw_rxq_wait_nonempty(void)
{
    while (fw_rxq_fill() == 0u) {
        fw_cpu_irq_mask();
        if (fw_rxq_fill() == 0u) {
            fw_cpu_wfi();
        }
        fw_cpu_irq_unmask();
    }
}

int fw_rxq_wait_pop(void)
{
    uint32_t tail;
    uint8_t byte;

    fw_rxq_wait_nonempty();
    tail = fw_rxq_tail;
    byte = fw_rxq_buf[tail & (FW_RX_RING_SIZE - 1u)];
    fw_rxq_tail = tail + 1u;
    /* Resume at half full, not at the first free byte: no pause per byte. */
    if (fw_rxq_paused != 0u && fw_rxq_fill() <= FW_RX_RING_SIZE / 2u) {
        fw_rxq_paused = 0u;
        fw_uart_rx_resume();
    }
    return byte;
}
