/* fw_rxq.c - lock-free single-producer/single-consumer byte ring.
 *
 * head is written only by the ISR, tail only by the command loop; both are
 * free-running and wrap at 2^32, so head - tail is the fill level even
 * across the wrap (FW_RX_RING_SIZE is a power of two). */
#include "fw_rxq.h"

#include "fw_config.h"
#include "fw_cpu.h"

static volatile uint8_t fw_rxq_buf[FW_RX_RING_SIZE];
static volatile uint32_t fw_rxq_head;
static volatile uint32_t fw_rxq_tail;
static volatile uint32_t fw_rxq_drops;

int fw_rxq_push(uint8_t byte)
{
    uint32_t head = fw_rxq_head;

    if (head - fw_rxq_tail >= FW_RX_RING_SIZE) {
        fw_rxq_drops++;
        return 0;
    }
    fw_rxq_buf[head & (FW_RX_RING_SIZE - 1u)] = byte;
    fw_rxq_head = head + 1u;
    return 1;
}

static int fw_rxq_empty(void)
{
    return fw_rxq_head == fw_rxq_tail;
}

int fw_rxq_wait_pop(void)
{
    uint32_t tail = fw_rxq_tail;
    uint8_t byte;

    while (fw_rxq_empty()) {
        fw_cpu_irq_mask();
        if (fw_rxq_empty()) {
            fw_cpu_wfi();
        }
        fw_cpu_irq_unmask();
    }
    byte = fw_rxq_buf[tail & (FW_RX_RING_SIZE - 1u)];
    fw_rxq_tail = tail + 1u;
    return byte;
}

uint32_t fw_rxq_dropped(void)
{
    return fw_rxq_drops;
}
