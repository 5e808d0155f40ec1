"""Access to the compiled reference runtime (cffi API-mode extension).

An installed wheel ships the extension built at install time. In a repo
checkout the extension is (re)built on first use whenever a runtime source or
header changed, so the simulator always runs the C that is in the tree.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from .._cbuild import load_extension

_module: ModuleType | None = None


def _inputs(root: Path) -> list[Path]:
    runtime = root / "runtime"
    return [
        *runtime.joinpath("include").glob("*.h"),
        *runtime.joinpath("src").rglob("*.[ch]"),
        Path(__file__).resolve().parent / "_build_runtime.py",
        Path(__file__).resolve().parents[1] / "ops" / "variants.py",
    ]


def _builder():
    from . import _build_runtime

    return _build_runtime.make_ffibuilder(native=True)  # built and run on this machine


def runtime_module() -> ModuleType:
    """The cffi module (``.ffi``, ``.lib``), built first if the sources changed."""
    global _module
    if _module is None:
        _module = load_extension("fixpoint.sim._fp_runtime", _builder, _inputs)
    return _module


def ffi():
    return runtime_module().ffi


def lib():
    return runtime_module().lib
