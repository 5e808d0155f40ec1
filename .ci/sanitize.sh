#!/usr/bin/env bash
# Run the reference runtime under AddressSanitizer + UndefinedBehaviorSanitizer
# (-fsanitize=address,undefined -fno-sanitize-recover=all: the first report
# aborts the run, so any report fails this script).
#
# Four stages. The first two on every runtime/src/**/*.c:
#  1. tests/sanitize/fuzz_runtime.c, a C driver built with gcc and with clang:
#     every kernel called directly over many random parameter sets, sane and
#     hostile (non-positive dims, INT32 extremes, huge / negative shifts and
#     multipliers, bad rounding modes and multiplier widths, NULL tables), with
#     buffers sized exactly (ASan redzones catch any overrun); plus the graph
#     executor on corrupted one-layer graphs in an exactly sized arena. It also
#     checks that non-positive dims give FP_ERR_ARG and that a rejected call
#     writes nothing. Reliable and fast: no interpreter involved.
#  2. The Python suites that drive the C (tests/runtime: the kernels against the
#     Python reference, 10k+ cases per op family; tests/sim: the simulator,
#     graph executor and wrappers) on a sanitized build of the cffi extension
#     (build/sanitize/cffi, separate from the regular one), loaded by the pytest
#     plugin tests/sanitize/sanitized_runtime.py, with libasan preloaded into
#     Python (LD_PRELOAD; leak detection off, since CPython itself is not
#     instrumented and keeps allocations alive on purpose).
# The last two on the firmware (runtime/firmware):
#  3. tests/sanitize/fw_fuzz.sh: libFuzzer (clang, ASan + UBSan) on the frame
#     parser and the command dispatcher, fed byte streams as fw_main.c feeds
#     them; a bounded run per payload limit (256, then the boards' 1024),
#     seeded from tests/sanitize/fw_corpus. Any crash, sanitizer report, broken
#     invariant or timeout fails; artifacts and corpus stay in build/fuzz/.
#     `make fuzz` is the long run. A seed corpus older than the protocol only
#     warns (tests/sanitize/make_fw_corpus.py regenerates it).
#  4. tests/sanitize/fw_session.py: the host-board firmware built with ASan +
#     UBSan (gcc; fw_main.c, host UART and counter, the fixture model) driven
#     over a pty through a protocol session by FixpointClient, including
#     garbage and a truncated frame. Fails on any failed check, a non-zero
#     exit or any sanitizer report in the firmware's log.
#
# Usage: .ci/sanitize.sh [cases_per_kernel]   (default 20000)
#        SANITIZE_STAGES=1 .ci/sanitize.sh    (only the C driver; any subset of 1234)
set -euo pipefail
cd "$(dirname "$0")/.."

CASES=${1:-20000}
STAGES=${SANITIZE_STAGES:-1234}
OUT=build/sanitize
PY=${PYTHON:-.venv/bin/python}
SAN=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1)
mapfile -t SOURCES < <(find runtime/src -name '*.c' | sort)
mkdir -p "$OUT"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

if [[ $STAGES == *1* ]]; then
    for cc in gcc clang; do
        exe="$OUT/fuzz_runtime_$cc"
        "$cc" -std=c99 -Wall -Wextra -Werror -pedantic "${SAN[@]}" -Iruntime/include \
            tests/sanitize/fuzz_runtime.c tests/sanitize/fuzz_case.c "${SOURCES[@]}" -o "$exe"
        echo "== sanitize: C driver ($cc), $CASES cases per kernel"
        if [ "$cc" = gcc ]; then "$exe" "$CASES" 1; else "$exe" "$CASES" 2 | tail -n 1; fi
    done
fi

if [[ $STAGES == *2* ]]; then
    echo "== sanitize: Python suites on the sanitized cffi extension"
    ext=$("$PY" - "$OUT/cffi" <<'EOF'
import sys
from pathlib import Path

from fixpoint.sim import _build_runtime as b

flags = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-g", "-O1"]
ffi = b.make_ffibuilder(compile_flags=flags, link_flags=flags[:2])
print(Path(ffi.compile(tmpdir=sys.argv[1])).resolve())
EOF
)
    export FIXPOINT_SANITIZED_EXT=$ext
    LD_PRELOAD=$(gcc -print-file-name=libasan.so) PYTHONPATH=tests/sanitize${PYTHONPATH:+:$PYTHONPATH} \
        "$PY" -m pytest -q -n "${SANITIZE_JOBS:-2}" -p sanitized_runtime -p no:cacheprovider tests/runtime tests/sim
fi

if [[ $STAGES == *3* ]]; then
    "$PY" tests/sanitize/make_fw_corpus.py --check ||
        echo "sanitize: warning: the firmware seed corpus is stale; the fuzzer still runs"
    # Runs or seconds, whichever ends first: 30 s on an idle 2-core machine, at most
    # about 65 s (builds included) on a loaded one.
    tests/sanitize/fw_fuzz.sh --quiet --payload 256 --runs 300000 --seconds 40
    tests/sanitize/fw_fuzz.sh --quiet --payload 1024 --runs 40000 --seconds 15
fi

if [[ $STAGES == *4* ]]; then
    echo "== sanitize: host firmware through a protocol session on a pty"
    "$PY" tests/sanitize/fw_session.py --out "$OUT/firmware"
fi
echo "sanitize: clean"
