/*
 * riscv.S - crt0 for RV32 bare-metal boards (QEMU virt with -bios none).
 * Everything after the first few instructions is C (startup/riscv.c).
 */
    .section .text.init, "ax", @progbits
    .globl _start
_start:
    /* gp must be set without relaxation: relaxation would use gp itself. */
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    la t0, fw_trap_entry
    csrw mtvec, t0          /* direct mode: fw_trap_entry is 4-byte aligned */
    call fw_reset_c
1:  wfi
    j 1b

/*
 * uint32_t fw_semihost_call(uint32_t op, const void *arg)
 * The RISC-V semihosting trap is this exact uncompressed three-instruction
 * sequence, which must not straddle a page: hence the alignment.
 */
    .text
    .balign 16
    .globl fw_semihost_call
fw_semihost_call:
    .option push
    .option norvc
    slli zero, zero, 0x1f
    ebreak
    srai zero, zero, 7
    .option pop
    ret
