#!/usr/bin/env bash
# One-shot, idempotent set-up of a fresh Debian machine for Fixpoint:
# cross toolchains + QEMU (apt), a virtual environment with the Python
# packages, and the package itself installed in editable mode.
# Usage: tools/setup.sh [VENV_DIR]   (default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-.venv}

# libclang-rt-dev: clang's sanitizer and libFuzzer runtimes (make fuzz, .ci/sanitize.sh); clang
# only recommends it, so an install without recommends lacks them.
APT_PACKAGES=(make gcc clang libclang-rt-dev python3-venv python3-dev gcc-arm-none-eabi
              libnewlib-arm-none-eabi qemu-system-arm gcc-riscv64-unknown-elf qemu-system-misc binutils
              postgresql chromium ser2net)
# ser2net: the RFC2217 serial server behind labgrid places (tests/lab starts one on 127.0.0.1).
REQUIRED_TOOLS=(gcc clang arm-none-eabi-gcc riscv64-unknown-elf-gcc qemu-system-arm qemu-system-riscv32 ser2net)

missing=()
for tool in "${REQUIRED_TOOLS[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if command -v arm-none-eabi-gcc >/dev/null 2>&1 && \
   [ ! -f "$(arm-none-eabi-gcc -print-file-name=libc_nano.a)" ]; then
    missing+=(libnewlib-arm-none-eabi)
fi
fuzz_probe=$(mktemp -d)
if command -v clang >/dev/null 2>&1 && ! echo 'int LLVMFuzzerTestOneInput(void) { return 0; }' |
        clang -x c -fsanitize=fuzzer,address,undefined - -o "$fuzz_probe/a.out" >/dev/null 2>&1; then
    missing+=(libclang-rt-dev)
fi
rm -rf "$fuzz_probe"
if ! python3 -m venv --help >/dev/null 2>&1; then missing+=(python3-venv); fi
# the farm tests start their own PostgreSQL server and load the HTML report in headless Chromium
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then missing+=(postgresql); fi
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing system packages (missing: ${missing[*]})"
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${APT_PACKAGES[@]}"
    $SUDO apt-get clean
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating virtual environment $VENV"
    python3 -m venv "$VENV"
fi
stamp="$VENV/.fixpoint-installed"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ setup.py -nt "$stamp" ]; then
    echo "setup: installing Python packages"
    "$VENV/bin/pip" install -q --upgrade pip setuptools wheel cffi
    "$VENV/bin/pip" install -q -e ".[test,lab]" --no-build-isolation
    touch "$stamp"
fi
echo "setup: ready"
