/* fw_fault.c - fault report: "FIXPOINT FAULT <what> pc=0x... detail=0x...". */
#include "fw_fault.h"

#include "fw_config.h"
#include "fw_platform.h"
#include "fw_semihost.h"

#if FW_SEMIHOSTING
static void fw_fault_hex(char *out, uint32_t value)
{
    static const char digits[] = "0123456789abcdef";
    int i;

    for (i = 7; i >= 0; --i) {
        out[i] = digits[value & 0xFu];
        value >>= 4;
    }
    out[8] = '\0';
}

static void fw_fault_report(const char *what, uint32_t pc, uint32_t detail)
{
    char hex[9];

    fw_semihost_write("FIXPOINT FAULT ");
    fw_semihost_write(what);
    fw_fault_hex(hex, pc);
    fw_semihost_write(" pc=0x");
    fw_semihost_write(hex);
    fw_fault_hex(hex, detail);
    fw_semihost_write(" detail=0x");
    fw_semihost_write(hex);
    fw_semihost_write("\n");
}
#endif

void fw_fault_stop(const char *what, uint32_t pc, uint32_t detail)
{
#if FW_SEMIHOSTING
    fw_fault_report(what, pc, detail);
#else
    (void)what;
    (void)pc;
    (void)detail;
#endif
    fw_platform_exit(FW_EXIT_FAULT);
}
