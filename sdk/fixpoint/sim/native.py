"""Access to the compiled reference runtime (cffi API-mode extension).

An installed wheel ships the extension built at install time. In a repo
checkout the extension is (re)built on first use whenever a runtime source or
header changed, so the simulator always runs the C that is in the tree.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib
import logging
import os
import shutil
from pathlib import Path
from types import ModuleType

from .._paths import repo_root

log = logging.getLogger(__name__)
_PKG_DIR = Path(__file__).resolve().parent
_STAMP = _PKG_DIR / "_fp_runtime.stamp"
_module: ModuleType | None = None


def _source_digest(runtime_dir: Path) -> str:
    digest = hashlib.sha256()
    files = sorted([*runtime_dir.joinpath("include").glob("*.h"), *runtime_dir.joinpath("src").rglob("*.[ch]"),
                    _PKG_DIR / "_build_runtime.py"])
    for path in files:
        digest.update(str(path.relative_to(runtime_dir.parent)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _build_in_repo(root: Path) -> None:
    from . import _build_runtime

    build_dir = root / "build" / "cffi"
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        digest = _source_digest(root / "runtime")
        if _STAMP.is_file() and _STAMP.read_text() == digest and list(_PKG_DIR.glob("_fp_runtime*.so")):
            return
        log.info("building the reference runtime extension")
        built = Path(_build_runtime.make_ffibuilder().compile(tmpdir=str(build_dir)))
        target = _PKG_DIR / built.name
        for stale in _PKG_DIR.glob("_fp_runtime*.so"):
            stale.unlink()  # e.g. an abi3 build left by `pip install -e .`
        tmp = target.with_suffix(".so.tmp")
        shutil.copy2(built, tmp)
        os.replace(tmp, target)
        _STAMP.write_text(digest)


def runtime_module() -> ModuleType:
    """The cffi module (``.ffi``, ``.lib``), built first if the sources changed."""
    global _module
    if _module is None:
        root = repo_root()
        if root is not None and (root / "runtime").is_dir():
            _build_in_repo(root)
        _module = importlib.import_module("fixpoint.sim._fp_runtime")
    return _module


def ffi():
    return runtime_module().ffi


def lib():
    return runtime_module().lib
