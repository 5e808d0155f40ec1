/* fw_semihost.c - portable semihosting requests on top of fw_semihost_call.
 * Empty unless the board enables semihosting: other boards have no
 * fw_semihost_call to link against. */
#include "fw_config.h"
#include "fw_semihost.h"

#if FW_SEMIHOSTING

void fw_semihost_write(const char *s)
{
    (void)fw_semihost_call(FW_SEMIHOST_SYS_WRITE0, s);
}

void fw_semihost_exit(int code)
{
    /* SYS_EXIT_EXTENDED takes {reason, subcode}; QEMU exits with subcode. */
    uint32_t block[2];

    block[0] = FW_SEMIHOST_APPLICATION_EXIT;
    block[1] = (uint32_t)code;
    (void)fw_semihost_call(FW_SEMIHOST_SYS_EXIT_EXTENDED, block);
}

#else

typedef int fw_semihost_disabled_t; /* ISO C forbids an empty translation unit */

#endif
