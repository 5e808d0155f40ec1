/*
 * fp_kernels_all - the resolver with every kernel of the runtime.
 *
 * One entry per line of FP_KERNEL_LIST (fp_resolver.h). The host simulator
 * runs every plan with it; generated firmware uses its own table of the pairs
 * its plan needs and never references this one, so the linker drops it and
 * the kernels only it names.
 */
#include "fp_resolver.h"

static const fp_kernel_entry_t fp_all_entries[] = {
    FP_KERNEL_LIST(FP_KERNEL_ROW)
};

static const fp_kernel_table_t fp_all_table = {
    fp_all_entries, (uint32_t)(sizeof(fp_all_entries) / sizeof(fp_all_entries[0]))
};

const fp_kernel_table_t *fp_kernels_all(void)
{
    return &fp_all_table;
}
