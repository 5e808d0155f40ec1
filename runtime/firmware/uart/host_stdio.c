/*
 * host_stdio.c - the host board's "UART": file descriptors 0 and 1, which the
 * runner connects to the master side of a pseudo-terminal (the host side
 * opens the slave like any serial port). read() blocks in the kernel, the
 * host equivalent of sleeping in WFI.
 */
#include <errno.h>
#include <unistd.h>

#include "fw_platform.h"

#define FW_HOST_IN 0
#define FW_HOST_OUT 1

static uint8_t fw_host_rx[512];
static size_t fw_host_rx_len;
static size_t fw_host_rx_pos;

void fw_uart_init(void)
{
}

void fw_uart_write(const uint8_t *data, size_t len)
{
    while (len > 0u) {
        ssize_t n = write(FW_HOST_OUT, data, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fw_platform_exit(3); /* the other end is gone */
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

int fw_uart_read_byte(void)
{
    while (fw_host_rx_pos >= fw_host_rx_len) {
        ssize_t n = read(FW_HOST_IN, fw_host_rx, sizeof fw_host_rx);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1; /* EOF or EIO: the pty was closed */
        }
        fw_host_rx_len = (size_t)n;
        fw_host_rx_pos = 0;
    }
    return fw_host_rx[fw_host_rx_pos++];
}

void fw_uart_isr(void)
{
}

void fw_uart_rx_resume(void)
{
}
