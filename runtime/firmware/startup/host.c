/*
 * host.c - "startup" of the host board: a native process whose UART is its
 * stdin/stdout, connected by the runner to a pseudo-terminal.
 */
#include <stdlib.h>

#include "fw_platform.h"

void fw_platform_init(void)
{
}

void fw_platform_exit(int code)
{
    exit(code);
}

void fw_irq_line_enable(uint32_t irq)
{
    (void)irq;
}
