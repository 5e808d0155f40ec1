"""Build generated model sources for the host and run them: ``compile_generated``.

The generated model .c files and every ``runtime/src/**/*.c`` (the sources
the firmware compiles) become one cffi extension (API mode). Its cdef is read
from ``runtime/firmware/fp_model_api.h`` itself, so the Python side calls
exactly the interface the firmware links against. Builds are cached in a
folder keyed by a hash of every input file, so an unchanged model loads
without compiling.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import re
import shutil
from pathlib import Path
from types import ModuleType

from cffi import FFI, VerificationError

from .._paths import data_dir, repo_root
from ..ir import ModelError
from .generate import GeneratedModel
from .host_runtime import HostBuildError, runtime_objects

log = logging.getLogger(__name__)

API_HEADER = "fp_model_api.h"
STREAM_HEADER = "fp_model_stream_api.h"  # only models with recurrent state implement it
# -fno-wrapv undoes the -fwrapv Python's own CFLAGS add: signed overflow keeps
# the meaning it has in the firmware build, so a hidden overflow cannot make the
# host build agree with the simulator while the board disagrees.
COMPILE_ARGS = ("-std=c99", "-O2", "-fno-wrapv", "-fno-strict-aliasing")
_BUILD_VERSION = "2"  # bump when the way the extension is built changes
_loaded: dict[str, ModuleType] = {}


class HostRunError(ModelError):
    """The generated model failed to initialise or run on the host."""


def model_api_cdef(header: Path) -> str:
    """The declarations of fp_model_api.h, without comments and preprocessor lines."""
    text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#")).strip() + "\n"


def _runtime_inputs(runtime: Path) -> list[Path]:
    return sorted(
        [
            *runtime.joinpath("include").glob("*.h"),
            *runtime.joinpath("src").rglob("*.[ch]"),
            runtime / "firmware" / API_HEADER,
            runtime / "firmware" / STREAM_HEADER,
        ]
    )


def build_key(generated: GeneratedModel, runtime: Path) -> str:
    """sha256 over the generated files, the runtime sources and the build settings."""
    digest = hashlib.sha256(f"{_BUILD_VERSION}\0{' '.join(COMPILE_ARGS)}\0".encode())
    for path in sorted(generated.files.values()):
        digest.update(f"gen/{path.name}\0".encode())
        digest.update(path.read_bytes())
    for path in _runtime_inputs(runtime):
        digest.update(f"rt/{path.relative_to(runtime)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def default_cache_dir() -> Path:
    if os.environ.get("FIXPOINT_CODEGEN_CACHE"):
        return Path(os.environ["FIXPOINT_CODEGEN_CACHE"])
    root = repo_root()
    return root / "build" / "codegen" if root is not None else Path.home() / ".cache" / "fixpoint" / "codegen"


class GeneratedModule:
    """A host build of a generated model, called through fp_model_api.h."""

    def __init__(self, module: ModuleType, generated: GeneratedModel):
        self.module, self.generated = module, generated
        self.ffi, self.lib = module.ffi, module.lib
        self.input_size = int(self.lib.fp_model_input_size())
        self.output_size = int(self.lib.fp_model_output_size())
        self.init()

    @property
    def name(self) -> str:
        return self.ffi.string(self.lib.fp_model_name()).decode()

    @property
    def model_hash(self) -> str:
        return self.ffi.string(self.lib.fp_model_hash()).decode()

    @property
    def arena_size(self) -> int:
        return int(self.lib.fp_model_arena_size())

    def init(self) -> None:
        rc = int(self.lib.fp_model_init())
        if rc != 0:
            raise HostRunError(f"model '{self.generated.model_name}': fp_model_init returned {rc}")

    def run(self, input_bytes: bytes) -> bytes:
        """One inference: all inputs back to back in, all outputs back to back out."""
        data = bytes(input_bytes)
        if len(data) != self.input_size:
            raise HostRunError(
                f"model '{self.generated.model_name}' takes {self.input_size} input bytes, got {len(data)}"
            )
        self.ffi.memmove(self.lib.fp_model_input(), data, len(data))
        rc = int(self.lib.fp_model_run())
        if rc != 0:
            raise HostRunError(f"model '{self.generated.model_name}': fp_model_run returned {rc}")
        return bytes(self.ffi.buffer(self.lib.fp_model_output(), self.output_size))

    # ---- streaming (fp_model_stream_api.h; models with recurrent layers only) ----
    def _stream_call(self, fn: str) -> None:
        if not self.generated.state_bytes:
            raise HostRunError(f"model '{self.generated.model_name}' has no recurrent state: no {fn}")
        rc = int(getattr(self.lib, fn)())
        if rc != 0:
            raise HostRunError(f"model '{self.generated.model_name}': {fn} returned {rc}")

    def reset_state(self) -> None:
        self._stream_call("fp_model_reset_state")

    def step(self, step_bytes: bytes, output_size: int) -> bytes:
        """One streaming step: the step's input bytes in, its ``output_size`` output bytes out."""
        data = bytes(step_bytes)
        self.ffi.memmove(self.lib.fp_model_input(), data, len(data))
        self._stream_call("fp_model_step")
        return bytes(self.ffi.buffer(self.lib.fp_model_output(), output_size))

    def state(self) -> bytes:
        if not self.generated.state_bytes:
            raise HostRunError(f"model '{self.generated.model_name}' has no recurrent state")
        return bytes(self.ffi.buffer(self.lib.fp_model_state(), int(self.lib.fp_model_state_size())))


def compile_generated(generated: GeneratedModel, cache_dir: str | os.PathLike[str] | None = None) -> GeneratedModule:
    """Compile (or load from the cache) the generated model with the runtime sources."""
    runtime = data_dir("runtime")
    key = build_key(generated, runtime)
    name = f"_fpgen_{key[:20]}"
    if name not in _loaded:
        folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        _loaded[name] = _load(_build(generated, runtime, folder / key[:20], name), name)
    return GeneratedModule(_loaded[name], generated)


def _build(generated: GeneratedModel, runtime: Path, folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers build once
        built = sorted(folder.glob(f"{name}*.so"))
        if built:
            return built[0]
        # Copy the sources into the cache entry: the build stays reproducible
        # even if the output folder is regenerated later.
        src = folder / "src"
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir()
        for path in generated.files.values():
            shutil.copy2(path, src / path.name)
        objects = runtime_objects(runtime, folder.parent, COMPILE_ARGS)
        log.info("compiling generated model '%s' for the host in %s", generated.model_name, folder)
        try:
            return Path(_ffibuilder(generated, runtime, src, name, objects).compile(tmpdir=str(folder)))
        except VerificationError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise HostBuildError(f"model '{generated.model_name}': host build failed: {first}") from None


def _ffibuilder(generated: GeneratedModel, runtime: Path, src: Path, name: str, objects: list[Path]) -> FFI:
    builder = FFI()
    builder.cdef(model_api_cdef(runtime / "firmware" / API_HEADER))
    if generated.state_bytes:
        builder.cdef(model_api_cdef(runtime / "firmware" / STREAM_HEADER))
    includes = f'#include "{API_HEADER}"\n' + (f'#include "{STREAM_HEADER}"\n' if generated.state_bytes else "")
    builder.set_source(
        name,
        includes,
        sources=[str(src / p.name) for p in generated.sources],
        extra_objects=[str(o) for o in objects],  # every runtime/src/**/*.c
        include_dirs=[str(src), str(runtime / "include"), str(runtime / "src"), str(runtime / "firmware")],
        extra_compile_args=list(COMPILE_ARGS),
    )
    return builder


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HostRunError(f"cannot load the compiled model {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
