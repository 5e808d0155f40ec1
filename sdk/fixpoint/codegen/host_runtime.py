"""Host object files of the runtime sources, built once per runtime version.

Every generated model links the same ``runtime/src/**/*.c``; compiling them
once per runtime content (not once per model) and in parallel keeps a host
build of a model to its two generated files plus the cffi wrapper. The
command is the one setuptools gives a cffi extension on this Python (CC,
CFLAGS, CCSHARED from sysconfig, CC overridable from the environment), plus
the same ``COMPILE_ARGS`` the model sources get.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import shlex
import shutil
import subprocess
import sysconfig
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..ir import ModelError

log = logging.getLogger(__name__)


class HostBuildError(ModelError):
    """A host compile of runtime or generated sources failed."""


def compiler_command() -> list[str]:
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    flags = f"{sysconfig.get_config_var('CFLAGS') or ''} {sysconfig.get_config_var('CCSHARED') or ''}"
    return shlex.split(cc) + shlex.split(flags)


def runtime_sources(runtime: Path) -> list[Path]:
    return sorted(runtime.joinpath("src").rglob("*.c"))


def runtime_digest(runtime: Path, compile_args: tuple[str, ...]) -> str:
    digest = hashlib.sha256(" ".join([*compiler_command(), *compile_args]).encode())
    for path in sorted([*runtime.joinpath("include").glob("*.h"), *runtime.joinpath("src").rglob("*.[ch]")]):
        digest.update(f"{path.relative_to(runtime)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def runtime_objects(runtime: Path, cache_dir: Path, compile_args: tuple[str, ...]) -> list[Path]:
    """Object files of every runtime source (built on first use, then reused)."""
    folder = cache_dir / f"runtime-{runtime_digest(runtime, compile_args)[:20]}"
    folder.mkdir(parents=True, exist_ok=True)
    sources = runtime_sources(runtime)
    objects = [folder / (str(s.relative_to(runtime / "src")).replace(os.sep, "__")[:-2] + ".o") for s in sources]
    with open(folder / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = [(s, o) for s, o in zip(sources, objects) if not o.is_file()]
        if missing:
            log.info("compiling %d runtime sources for the host into %s", len(missing), folder)
            base = [*compiler_command(), *compile_args, f"-I{runtime / 'include'}", f"-I{runtime / 'src'}"]
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
                list(pool.map(lambda pair: _compile(base, *pair), missing))
    return objects


def _compile(base: list[str], source: Path, obj: Path) -> None:
    tmp = obj.with_suffix(".o.tmp")
    proc = subprocess.run([*base, "-c", str(source), "-o", str(tmp)], capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((line for line in proc.stderr.splitlines() if "error" in line), proc.stderr.strip())
        raise HostBuildError(f"{source.name}: host compile failed: {first}")
    shutil.move(str(tmp), str(obj))  # only complete objects ever carry the final name
