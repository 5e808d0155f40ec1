/* fw_fault.h - last words of a crashed firmware. */
#ifndef FW_FAULT_H
#define FW_FAULT_H

#include <stdint.h>

/* QEMU exit status after a CPU fault; the host runner reports it as a crash. */
#define FW_EXIT_FAULT 99

/* Report a CPU fault (on QEMU: one line on the semihosting console, which the
 * runner shows in BoardCrashed) and stop for good. Never returns. */
void fw_fault_stop(const char *what, uint32_t pc, uint32_t detail);

#endif /* FW_FAULT_H */
