"""Load a cffi API-mode extension, (re)building it first in a repo checkout.

An installed wheel ships its extensions built at install time (setup.py's
``cffi_modules``). In a checkout, an extension is rebuilt on first use
whenever one of its inputs changed, so Python always runs the C in the tree.
A file lock makes parallel test workers build it once.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import logging
import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType

from cffi import FFI

from ._paths import repo_root

log = logging.getLogger(__name__)


def _digest(files: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _build(module: str, make_builder: Callable[[], FFI], inputs: list[Path], root: Path) -> None:
    package_dir = root / "sdk" / Path(*module.split(".")[:-1])
    stem = module.rsplit(".", 1)[-1]
    stamp = package_dir / f"{stem}.stamp"
    build_dir = root / "build" / "cffi"
    build_dir.mkdir(parents=True, exist_ok=True)
    with open(build_dir / f"{stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        digest = _digest(inputs, root)
        if stamp.is_file() and stamp.read_text() == digest and list(package_dir.glob(f"{stem}*.so")):
            return
        log.info("building the %s extension", module)
        built = Path(make_builder().compile(tmpdir=str(build_dir)))
        for stale in package_dir.glob(f"{stem}*.so"):
            stale.unlink()  # e.g. an abi3 build left by `pip install -e .`
        target = package_dir / built.name
        tmp = target.with_suffix(".so.tmp")
        shutil.copy2(built, tmp)
        os.replace(tmp, target)
        stamp.write_text(digest)


def load_extension(module: str, make_builder: Callable[[], FFI], inputs: Callable[[Path], list[Path]]) -> ModuleType:
    """Import ``module``; in a checkout rebuild it first if any of ``inputs(repo_root)`` changed."""
    root = repo_root()
    if root is not None:
        _build(module, make_builder, inputs(root), root)
    return importlib.import_module(module)
