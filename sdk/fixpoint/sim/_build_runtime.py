"""cffi (API mode, out-of-line) build of the runtime for the host simulator.

The cdef is read from our own public headers, between the FP_CDEF_BEGIN and
FP_CDEF_END markers, so the Python bridge can never drift from the C API.
The extension compiles the very same runtime/src sources the firmware uses,
at -O3, plus two simulator-only pieces (SIM_SOURCE):

* ``fp_sim_kernels_host()``: the resolver of the host core, one row per
  FP_KERNEL_LIST pair naming the adapter ``choose_kernel(op, dp, "host")``
  picks (fixpoint.ops.variants), generated here from fp_resolver.h;
* ``fp_sim_run_batch()``: a batch of samples through ``fp_graph_run`` in one
  call (inputs copied into the arena, outputs out of it, per sample).

In a checkout fixpoint.sim.native rebuilds it whenever those sources change,
with the build machine's vector extensions (``native=True``: the module runs
where it is built); the wheel build (setup.py) stays generic.
"""

from __future__ import annotations

import importlib.util
import re
import sysconfig
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


SIM_CDEF = """
const fp_kernel_table_t *fp_sim_kernels_host(void);
int32_t fp_sim_run_batch(const fp_graph_t *graph, uint8_t *arena, void *scratch, size_t scratch_size,
                         int32_t first, int32_t count, uint32_t n_in, const uint8_t *const *inputs,
                         const uint32_t *in_offsets, const uint32_t *in_bytes, uint32_t n_out,
                         uint8_t *const *outputs, const uint32_t *out_offsets, const uint32_t *out_bytes,
                         int32_t *status);
"""

SIM_BATCH = """
int32_t fp_sim_run_batch(const fp_graph_t *graph, uint8_t *arena, void *scratch, size_t scratch_size,
                         int32_t first, int32_t count, uint32_t n_in, const uint8_t *const *inputs,
                         const uint32_t *in_offsets, const uint32_t *in_bytes, uint32_t n_out,
                         uint8_t *const *outputs, const uint32_t *out_offsets, const uint32_t *out_bytes,
                         int32_t *status)
{
    int32_t s;
    uint32_t k;
    for (s = first; s < first + count; ++s) {
        fp_status_t st;
        for (k = 0; k < n_in; ++k) {
            memcpy(arena + in_offsets[k], inputs[k] + (size_t)s * in_bytes[k], in_bytes[k]);
        }
        st = fp_graph_run(graph, arena, scratch, scratch_size);
        if (st != FP_OK) {
            *status = (int32_t)st;
            return s;
        }
        for (k = 0; k < n_out; ++k) {
            memcpy(outputs[k] + (size_t)s * out_bytes[k], arena + out_offsets[k], out_bytes[k]);
        }
    }
    *status = (int32_t)FP_OK;
    return -1;
}
"""

LIST_ROW = re.compile(r"^\s*X\((\w+),\s*(\w+),\s*(\w+),\s*(\w+),\s*(\w+),\s*(\w+)\)")


def resolver_rows(runtime_dir: Path) -> tuple[list[tuple[str, ...]], dict[str, tuple[str, ...]]]:
    """FP_KERNEL_LIST rows (in order) and FP_KERNEL_VARIANT_LIST rows by adapter name."""
    text = (runtime_dir / "include" / "fp_resolver.h").read_text()
    ref_part, _, variant_part = text.partition("#define FP_KERNEL_VARIANT_LIST")
    rows = [m.groups() for m in map(LIST_ROW.match, ref_part.splitlines()) if m]
    variants = {m.group(4): m.groups() for m in map(LIST_ROW.match, variant_part.splitlines()) if m}
    return rows, variants


def _variants_module():
    """fixpoint.ops.variants, loaded by path (this script also runs outside the package)."""
    path = Path(__file__).resolve().parents[1] / "ops" / "variants.py"
    spec = importlib.util.spec_from_file_location("_fp_variants", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def host_table_source(runtime_dir: Path) -> str:
    """C of fp_sim_kernels_host(): per reference pair, the host core's chosen adapter."""
    variants = _variants_module()
    rows, variant_rows = resolver_rows(runtime_dir)
    lines = []
    for row in rows:
        name, dp = row[3], row[2].lower()
        row = variant_rows.get(variants.choose_kernel(name[: -len(dp) - 1], dp, "host"), row)
        lines.append(f"    FP_KERNEL_ROW({', '.join(row)})")
    return (
        "static const fp_kernel_entry_t fp_sim_host_entries[] = {\n" + "\n".join(lines) + "\n};\n"
        "static const fp_kernel_table_t fp_sim_host_table = {\n"
        "    fp_sim_host_entries, (uint32_t)(sizeof(fp_sim_host_entries) / sizeof(fp_sim_host_entries[0]))\n"
        "};\n"
        "const fp_kernel_table_t *fp_sim_kernels_host(void) { return &fp_sim_host_table; }\n"
    )


def compile_args(native: bool) -> list[str]:
    # as the firmware: the arena is raw bytes read as int8/int16 tensors (no type-based
    # alias analysis), and no -fwrapv (which Python adds) so overflow means what it means there
    args = ["-std=c99", "-O3", "-fno-strict-aliasing", "-fno-wrapv"]
    if native and sysconfig.get_platform().endswith(("x86_64", "aarch64")):
        args.append("-march=native")
    return args


def make_ffibuilder(
    native: bool = False, compile_flags: list[str] | None = None, link_flags: list[str] | None = None
) -> FFI:
    """The cffi builder of the simulator's extension; ``compile_flags`` replace the usual
    optimisation flags (the sanitized build of .ci/sanitize.sh passes its own)."""
    runtime_dir = _runtime_dir()
    builder = FFI()
    builder.cdef(cdef_text(runtime_dir) + SIM_CDEF)
    builder.set_source(
        MODULE,
        '#include <string.h>\n#include "fp_runtime.h"\n#include "fp_resolver.h"\n'
        + host_table_source(runtime_dir)
        + SIM_BATCH,
        sources=runtime_sources(runtime_dir),
        include_dirs=[str(runtime_dir / "include")],
        extra_compile_args=compile_args(native) if compile_flags is None else ["-std=c99", *compile_flags],
        extra_link_args=link_flags or [],
    )
    return builder


ffibuilder = make_ffibuilder()
