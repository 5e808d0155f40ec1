#!/usr/bin/env bash
# Compile every runtime source (runtime/src/**/*.c) warning-free on every
# compiler / target the firmware and the simulator use:
#   gcc and clang (host), -O0 and -O2 (some warnings only appear when optimising);
#   arm-none-eabi-gcc for Cortex-M4, M7, M33 and M55 (-mthumb, soft float ABI);
#   riscv64-unknown-elf-gcc for rv32imac_zicsr / ilp32.
# Flags everywhere: -std=c99 -Wall -Wextra -Werror -pedantic -Iruntime/include.
#
# The Debian RISC-V toolchain ships no C library, so that target compiles
# -ffreestanding (stdint.h / stddef.h then come from GCC itself) with a shim
# <string.h> declaring the four functions a freestanding GCC program may rely on
# (memcpy, memmove, memset, memcmp). This is a compile check (-c), nothing links.
#
# Prints one line per compiler/target (all targets run in parallel); exits
# non-zero if any file fails or warns. CHECK_C_ROOT overrides the source folder
# (default runtime/src), e.g. to check that a planted warning is caught.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=${CHECK_C_ROOT:-runtime/src}

FLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -Iruntime/include)
JOBS=$(nproc 2>/dev/null || echo 2)
mapfile -t SOURCES < <(find "$ROOT" -name '*.c' | sort)
if [ "${#SOURCES[@]}" -eq 0 ]; then
    echo "check_c: no sources under $ROOT" >&2
    exit 1
fi

SHIM=$(mktemp -d)
cat > "$SHIM/string.h" <<'EOF'
/* check_c.sh shim: the string functions a freestanding GCC program may call. */
#ifndef CHECK_C_STRING_SHIM_H
#define CHECK_C_STRING_SHIM_H
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#endif
EOF

# name | compiler | extra flags
TARGETS=(
    "gcc -O0 (host)|gcc|-O0"
    "gcc -O2 (host)|gcc|-O2"
    "clang -O0 (host)|clang|-O0"
    "clang -O2 (host)|clang|-O2"
    "arm-none-eabi-gcc cortex-m4|arm-none-eabi-gcc|-O2 -mcpu=cortex-m4 -mthumb -mfloat-abi=soft"
    "arm-none-eabi-gcc cortex-m7|arm-none-eabi-gcc|-O2 -mcpu=cortex-m7 -mthumb -mfloat-abi=soft"
    "arm-none-eabi-gcc cortex-m33|arm-none-eabi-gcc|-O2 -mcpu=cortex-m33 -mthumb -mfloat-abi=soft"
    "arm-none-eabi-gcc cortex-m55|arm-none-eabi-gcc|-O2 -mcpu=cortex-m55 -mthumb -mfloat-abi=soft"
    "riscv64-unknown-elf-gcc rv32imac ilp32|riscv64-unknown-elf-gcc|-O2 -march=rv32imac_zicsr -mabi=ilp32 -ffreestanding -isystem $SHIM"
)

WORK=$(mktemp -d)
trap 'rm -rf "$SHIM" "$WORK"' EXIT

# One compiler run per target (it compiles every file even after an error),
# the targets in parallel, JOBS at a time.
check_target() {  # index name cc extra...
    local index=$1 name=$2 cc=$3
    shift 3
    local dir="$WORK/$index"
    mkdir -p "$dir/obj"
    if ! command -v "$cc" > /dev/null; then
        echo "FAIL  $name: compiler '$cc' not installed" > "$dir/line"
        return
    fi
    local abs=()
    for f in "${SOURCES[@]}"; do abs+=("$(realpath "$f")"); done
    (cd "$dir/obj" && "$cc" "${FLAGS[@]/#-Iruntime/-I$OLDPWD/runtime}" "$@" -c "${abs[@]}") > "$dir/log" 2>&1
    local rc=$?
    if [ $rc -ne 0 ] || [ -s "$dir/log" ]; then
        local bad
        bad=$(grep -oE '^[^: ]+\.[ch]:[0-9]+' "$dir/log" | cut -d: -f1 | sort -u | wc -l)
        echo "FAIL  $name: diagnostics in $bad file(s) of ${#SOURCES[@]}" > "$dir/line"
        sed 's/^/      /' "$dir/log" >> "$dir/line"
    else
        echo "ok    $name: ${#SOURCES[@]} files" > "$dir/line"
    fi
}

i=0
for entry in "${TARGETS[@]}"; do
    IFS='|' read -r name cc extra <<< "$entry"
    # shellcheck disable=SC2086  # $extra is a flag list
    check_target "$i" "$name" "$cc" $extra &
    i=$((i + 1))
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
done
wait

status=0
for ((k = 0; k < i; k++)); do
    cat "$WORK/$k/line"
    head -c 4 "$WORK/$k/line" | grep -q '^ok' || status=1
done
exit $status
