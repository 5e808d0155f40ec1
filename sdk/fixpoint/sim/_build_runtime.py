"""cffi (API mode, out-of-line) build of the reference runtime for the host.

The cdef is read from our own public headers, between the FP_CDEF_BEGIN and
FP_CDEF_END markers, so the Python bridge can never drift from the C API.
The extension compiles the very same runtime/src sources the firmware uses;
in a checkout fixpoint.sim.native rebuilds it whenever those sources change.
"""
from __future__ import annotations

import re
from pathlib import Path

from cffi import FFI

HEADERS = ("fp_types.h", "fp_runtime.h")
MODULE = "fixpoint.sim._fp_runtime"


def _runtime_dir() -> Path:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "_data" / "runtime", here.parents[2] / "runtime"):
        if (candidate / "include" / "fp_runtime.h").is_file():
            return candidate
    raise FileNotFoundError("runtime/include/fp_runtime.h not found next to the fixpoint package")


def cdef_text(runtime_dir: Path) -> str:
    """The declarations cffi needs, taken from our headers."""
    parts = []
    for name in HEADERS:
        text = (runtime_dir / "include" / name).read_text()
        match = re.search(r"/\* FP_CDEF_BEGIN \*/(.*?)/\* FP_CDEF_END \*/", text, re.S)
        if not match:
            raise RuntimeError(f"{name}: FP_CDEF_BEGIN/END markers missing")
        parts.append(re.sub(r"/\*.*?\*/", "", match.group(1), flags=re.S))
    return "\n".join(parts)


def runtime_sources(runtime_dir: Path) -> list[str]:
    """Every portable runtime source (firmware and board code excluded)."""
    return sorted(str(p) for p in (runtime_dir / "src").rglob("*.c"))


def make_ffibuilder() -> FFI:
    runtime_dir = _runtime_dir()
    builder = FFI()
    builder.cdef(cdef_text(runtime_dir))
    builder.set_source(
        MODULE,
        '#include "fp_runtime.h"\n',
        sources=runtime_sources(runtime_dir),
        include_dirs=[str(runtime_dir / "include")],
        # as the firmware: the arena is raw bytes read as int8/int16 tensors (no type-based
        # alias analysis), and no -fwrapv (which Python adds) so overflow means what it means there
        extra_compile_args=["-std=c99", "-O2", "-fno-strict-aliasing", "-fno-wrapv"],
    )
    return builder


ffibuilder = make_ffibuilder()
