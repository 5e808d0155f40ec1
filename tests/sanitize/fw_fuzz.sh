#!/usr/bin/env bash
# Build and run the libFuzzer target of the firmware's frame parser and command
# dispatcher (tests/sanitize/fuzz_fw.c) under ASan + UBSan.
#
# The target is compiled with clang from the firmware sources themselves
# (runtime/firmware/fw_frame.c, fw_commands.c, fw_crc32.c, the host board's
# counter/host_clock.c and models/loopback_model.c; with FW_STREAMING, so
# fw_stream.c's STATE_RESET / STEP / READ_STATE run on the loopback's toy
# stream), with the small
# fw_board_config.h in tests/sanitize/fw_fuzz_config/. The loopback model's
# buffers are 2 * max_payload + 88 bytes: more than two frames, not a whole
# number of chunks (make_fw_corpus.py seeds RUN with the CRC of that many zeros).
#
# Everything it writes stays in build/fuzz/: the binary fw_fuzz_<payload>, the
# corpus it grows (corpus-<payload>/, seeded from tests/sanitize/fw_corpus/),
# the log (fw_fuzz_<payload>.log) and any crash / timeout artifact
# (artifacts-<payload>/). Exit status 1 on any finding; the log tail and the
# reproducer command are printed.
#
# Usage: tests/sanitize/fw_fuzz.sh [--runs N] [--seconds S] [--payload P] [--quiet]
#   --runs N      stop after N executions (default 1000000 unless --seconds)
#   --seconds S   stop after S seconds (with --runs: whichever comes first)
#   --payload P   FW_MAX_PAYLOAD of the build (default 256; the boards use 1024)
#   --quiet       no progress lines, only the summary
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=""
SECS=""
PAYLOAD=256
QUIET=0
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift 2 ;;
        --seconds) SECS=$2; shift 2 ;;
        --payload) PAYLOAD=$2; shift 2 ;;
        --quiet) QUIET=1; shift ;;
        *) echo "usage: $0 [--runs N] [--seconds S] [--payload P] [--quiet]" >&2; exit 2 ;;
    esac
done

OUT=build/fuzz
EXE="$OUT/fw_fuzz_$PAYLOAD"
LOG="$OUT/fw_fuzz_$PAYLOAD.log"
ARTIFACTS="$OUT/artifacts-$PAYLOAD/"
CORPUS="$OUT/corpus-$PAYLOAD"
FW=runtime/firmware
mkdir -p "$ARTIFACTS" "$CORPUS"

# Coverage and comparison tracing of the firmware code guide the fuzzer. The
# comparisons of the harness (stream position, bounds checks, per byte) and of
# the CRC loop (its counter) say nothing about the input and took 60% of the
# time: no trace-cmp there.
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all)
CFLAGS=(-std=c99 -Wall -Wextra -Werror -pedantic -g -O2 -fno-omit-frame-pointer "${SAN[@]}"
        -D_POSIX_C_SOURCE=200809L "-DFUZZ_MAX_PAYLOAD=${PAYLOAD}u" -DFW_STREAMING
        "-DLOOPBACK_SIZE=$((2 * PAYLOAD + 88))u"
        -Itests/sanitize/fw_fuzz_config "-I$FW")
SOURCES=("$FW/fw_frame.c" "$FW/fw_commands.c" "$FW/fw_stream.c" "$FW/counter/host_clock.c" "$FW/fw_counter_isr.c"
         "$FW/models/loopback_model.c")
UNTRACED=(tests/sanitize/fuzz_fw.c "$FW/fw_crc32.c")
objs=()
for src in "${UNTRACED[@]}"; do
    obj="$OUT/$(basename "$src" .c)_$PAYLOAD.o"
    clang "${CFLAGS[@]}" -fsanitize=fuzzer-no-link -fno-sanitize-coverage=trace-cmp -c "$src" -o "$obj"
    objs+=("$obj")
done
clang "${CFLAGS[@]}" -fsanitize=fuzzer "${objs[@]}" "${SOURCES[@]}" -o "$EXE.tmp"
rm -f "${objs[@]}"
mv "$EXE.tmp" "$EXE"

[ -n "$RUNS$SECS" ] || RUNS=1000000
LIMIT=()
WHAT=()
if [ -n "$RUNS" ]; then LIMIT+=(-runs="$RUNS"); WHAT+=("$RUNS runs"); fi
if [ -n "$SECS" ]; then LIMIT+=(-max_total_time="$SECS"); WHAT+=("at most $SECS s"); fi
# Inputs of up to about four maximum frames: room for a truncated frame, the
# frame hidden in it and the ones after. Leak checks stay on for the target.
ARGS=("${LIMIT[@]}" -max_len=$((4 * (PAYLOAD + 10))) -timeout=10 -rss_limit_mb=2048
      -dict=tests/sanitize/fw_fuzz.dict -print_final_stats=1 -artifact_prefix="$ARTIFACTS"
      "$CORPUS" tests/sanitize/fw_corpus)
export ASAN_OPTIONS=${FW_FUZZ_ASAN_OPTIONS:-detect_stack_use_after_return=1}
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

before=$(find "$ARTIFACTS" -type f | sort)
echo "== fw fuzz: max_payload $PAYLOAD, $(IFS=,; echo "${WHAT[*]}" | sed "s/,/, /g") ($EXE, log $LOG)"
start=$(date +%s)
set +e
if [ "$QUIET" = 1 ]; then
    "$EXE" "${ARGS[@]}" > "$LOG" 2>&1
    rc=$?
else
    # libFuzzer's pulse lines (at powers of two) show progress; NEW lines would flood.
    "$EXE" "${ARGS[@]}" 2>&1 | tee "$LOG" | grep --line-buffered -E '^#[0-9]+[[:space:]]+(INITED|pulse)'
    rc=${PIPESTATUS[0]}
fi
set -e
elapsed=$(( $(date +%s) - start ))

stat() { sed -n "s/^stat::$1: *//p" "$LOG" | tail -n 1; }
runs=$(stat number_of_executed_units)
speed=$(stat average_exec_per_sec)
added=$(stat new_units_added)
units=$(find "$CORPUS" -type f | wc -l)
mapfile -t found < <(comm -13 <(echo "$before") <(find "$ARTIFACTS" -type f | sort) | grep . || true)
grep -E '^(Done|stat::)' "$LOG" | sed 's/^/    /' || true
if [ "$rc" -ne 0 ] || [ ${#found[@]} -gt 0 ]; then
    echo "fw fuzz: FAILED (exit $rc) after ${runs:-?} runs; log tail:" >&2
    tail -n 60 "$LOG" | sed 's/^/    /' >&2
    for f in "${found[@]}"; do echo "reproduce: $EXE $f" >&2; done
    exit 1
fi
echo "fw fuzz: max_payload $PAYLOAD: $runs runs in ${elapsed} s, $speed exec/s," \
     "0 findings; corpus $units units (+$added new)"
