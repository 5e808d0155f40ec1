"""Build driver: one board + one model -> one firmware image.

Compiles ``runtime/src/**/*.c`` (the integer runtime, same sources as the host
simulator), the portable firmware core ``runtime/firmware/*.c``, the board's
startup, UART driver and counter, optional board-folder sources and the model
sources, with the board's toolchain and flags, and links them with the board's
linker script. Work happens in a temporary directory inside ``out_dir``; the
finished image (and its map and size report) is moved into place atomically.
Objects are reused from a content-addressed cache (:mod:`.objcache`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from fixpoint.ir import ModelError

from .board import Board
from .loader import load_board
from .objcache import ObjectCache, default_cache_dir
from .paths import firmware_dir, runtime_dir

log = logging.getLogger(__name__)

# -O2: about 25% fewer executed instructions than -Os on the example models.
# -fno-strict-aliasing: the activation arena is raw storage read as int8/int16 tensors.
COMMON_CFLAGS = (
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-Werror",
    "-pedantic",
    "-O2",
    "-g",
    "-fno-strict-aliasing",
    "-ffunction-sections",
    "-fdata-sections",
)
CONFIG_HEADER = "fw_board_config.h"
BUILD_ID_SOURCE = "fw_build_id.c"


class BuildError(ModelError):
    """Compiling or linking firmware failed, or the image does not fit the board."""


@dataclass(frozen=True)
class FirmwareSize:
    text: int
    data: int
    bss: int  # includes the stack reserve

    @property
    def flash(self) -> int:
        return self.text + self.data

    @property
    def ram(self) -> int:
        return self.data + self.bss


@dataclass
class _Job:
    board: Board
    cc: str
    work: Path
    cache: ObjectCache | None


def build_firmware(
    board: Board | str,
    model_sources: Sequence[str | os.PathLike[str]],
    include_dirs: Sequence[str | os.PathLike[str]] = (),
    out_dir: str | os.PathLike[str] = "build",
    *,
    defines: Mapping[str, str | int] | None = None,
    max_payload: int | None = None,
    jobs: int | None = None,
    cache: bool | str | os.PathLike[str] = True,
) -> Path:
    """Build firmware for ``board`` running the model in ``model_sources``.

    ``defines`` become ``-D`` flags for the firmware and model sources (not
    the runtime, which compiles as for the host simulator); ``max_payload``
    overrides the board's serial.max_payload; ``cache`` is True (default
    object cache directory), False, or a cache directory. Returns the ELF
    (the executable on the host board). Raises BuildError with the first
    compiler error.
    """
    board = load_board(board)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sources = firmware_sources(board, [Path(s) for s in model_sources])
    cache_root = _cache_root(cache)
    job = _Job(
        board,
        _require_tool(board, board.compiler.tool("gcc")),
        Path(tempfile.mkdtemp(prefix=f".build-{board.name}-", dir=out)),
        ObjectCache(cache_root) if cache_root else None,
    )
    try:
        config_dir = _write_config(board, cache_root or job.work, max_payload)
        flags = _cflags(board, config_dir, [Path(d) for d in include_dirs], defines or {})
        build_id = _build_id(board, sources, flags)
        sources.append(_write_build_id(job.work, build_id))
        objects = _compile_all(job, flags, sources, jobs)
        image = _link(job, objects)
        size = firmware_size(image, board)
        _check_fit(board, size)
        return _publish(board, job.work, image, out, size, build_id)
    finally:
        if job.cache:
            log.debug("%s: object cache %d hits, %d misses", board.name, job.cache.hits, job.cache.misses)
        shutil.rmtree(job.work, ignore_errors=True)


def firmware_sources(board: Board, model_sources: Sequence[Path]) -> list[Path]:
    """Every source file of the image, in link order."""
    rt, fw = runtime_dir(), firmware_dir()
    startup = [fw / "startup" / f"{board.startup.source}{ext}" for ext in (".S", ".c")]
    sources = sorted((rt / "src").rglob("*.c"))
    sources += sorted(fw.glob("*.c"))
    sources += [s for s in startup if s.is_file()]
    sources += [fw / "uart" / f"{board.uart.driver}.c", fw / "counter" / f"{board.timing.counter}.c"]
    if board.compiler.libc == "freestanding":
        sources += sorted((fw / "libc").glob("*.c"))
    sources += list(board.startup.board_sources)
    for src in model_sources:
        if not src.is_file():
            raise BuildError(f"{board.name}: model source {src} not found")
        sources.append(src.resolve())
    return sources


def _cache_root(cache: bool | str | os.PathLike[str]) -> Path | None:
    if cache is False:
        return None
    return default_cache_dir() if cache is True else Path(cache)


def _require_tool(board: Board, tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BuildError(f"{board.name}: toolchain program '{tool}' not found on PATH (needed by {board.source})")
    return path


@dataclass(frozen=True)
class _Flags:
    runtime: list[str]  # runtime/src: sees only the runtime's own headers
    firmware: list[str]  # everything else: + board config, firmware, model includes

    def for_source(self, src: Path) -> list[str]:
        return self.runtime if src.is_relative_to(runtime_dir() / "src") else self.firmware


def _cflags(board: Board, config_dir: Path, include_dirs: list[Path], defines: Mapping[str, str | int]) -> _Flags:
    """The runtime is compiled exactly as for the host simulator: no board
    config, model include paths or model defines. That also lets every model
    and payload size of a board share its cached objects."""
    rt, fw = runtime_dir(), firmware_dir()
    base = [*COMMON_CFLAGS, *board.compiler.cflags]
    if board.compiler.libc == "freestanding":
        base.append(f"-isystem{fw / 'libc' / 'include'}")
    runtime = [*base, f"-I{rt / 'include'}", f"-I{rt / 'src'}"]
    firmware = runtime + [f"-I{d}" for d in (config_dir, fw, *include_dirs)]
    firmware += [f"-D{key}={value}" for key, value in sorted(defines.items())]
    return _Flags(runtime, firmware)


def _build_id(board: Board, sources: list[Path], flags: _Flags) -> str:
    """Hash of everything that goes into the image: identifies the binary."""
    digest = hashlib.sha256(board.source.read_bytes())
    digest.update("\0".join(flags.firmware).encode())
    headers = sorted(runtime_dir().rglob("*.h"))
    for path in [*sources, *headers]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _config_values(board: Board, max_payload: int | None) -> dict[str, str]:
    return {
        "FW_BOARD_NAME": f'"{board.name}"',
        "FW_MAX_PAYLOAD": f"{max_payload or board.serial.max_payload}u",
        "FW_UART_BASE": f"0x{board.uart.base:08X}u",
        "FW_UART_RX_IRQ": f"{board.uart.rx_irq}u",
        "FW_UART_CLOCK_HZ": f"{board.uart.clock_hz}u",
        "FW_UART_BAUD": f"{board.uart.baud}u",
        "FW_COUNTER_HZ": f"{board.timing.clock_hz}u",
        "FW_ICOUNT_SHIFT": f"{board.launch.icount_shift or 0}u",
        "FW_SEMIHOSTING": "1" if board.launch.semihosting else "0",
        "FW_HAS_BOARD_INIT": "1" if board.startup.board_sources else "0",
    }


def _write_config(board: Board, root: Path, max_payload: int | None) -> Path:
    """Write fw_board_config.h into a directory named by its content, so that
    identical configurations share one path (and cached objects)."""
    lines = [
        f"/* Generated by fixpoint.boards.build from board '{board.name}'. Do not edit. */",
        "#ifndef FW_BOARD_CONFIG_H",
        "#define FW_BOARD_CONFIG_H",
        "",
    ]
    lines += [f"#define {key} {value}" for key, value in _config_values(board, max_payload).items()]
    text = "\n".join([*lines, "", "#endif", ""])
    folder = root / "config" / hashlib.sha256(text.encode()).hexdigest()[:16]
    header = folder / CONFIG_HEADER
    if not header.is_file() or header.read_text() != text:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".cfg-")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, header)
    return folder


def _write_build_id(work: Path, build_id: str) -> Path:
    path = work / BUILD_ID_SOURCE
    path.write_text(f'/* Generated: identifies this build. */\nconst char fw_build_id[] = "{build_id}";\n')
    return path


def _compile_all(job: _Job, flags: _Flags, sources: list[Path], jobs: int | None) -> list[Path]:
    objects = [job.work / f"{i:03d}_{src.stem}.o" for i, src in enumerate(sources)]
    with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
        results = list(pool.map(lambda so: _compile(job, flags.for_source(so[0]), *so), zip(sources, objects)))
    for src, (code, output) in zip(sources, results):
        if code != 0:
            log.error("%s: compiling %s failed:\n%s", job.board.name, src, output)
            raise BuildError(f"{job.board.name}: compiling {src} failed: {_first_error(output)}")
    return objects


def _compile(job: _Job, cflags: list[str], src: Path, obj: Path) -> tuple[int, str]:
    cacheable = job.cache is not None and src.parent != job.work
    key = job.cache.key(job.cc, cflags, src) if cacheable else ""
    if cacheable and job.cache.fetch(key, obj):  # type: ignore[union-attr]
        return 0, ""
    depfile = obj.with_suffix(".d")
    proc = subprocess.run(
        [job.cc, *cflags, "-MMD", "-MF", str(depfile), "-c", str(src), "-o", str(obj)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode == 0 and cacheable:
        job.cache.store(key, obj, depfile)  # type: ignore[union-attr]
    return proc.returncode, proc.stdout + proc.stderr


def _first_error(output: str) -> str:
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    return (errors or lines or ["(no compiler output)"])[0]


def _link(job: _Job, objects: list[Path]) -> Path:
    board = job.board
    image = job.work / image_name(board)
    cmd = [
        job.cc,
        *board.compiler.ldflags,
        *map(str, objects),
        "-Wl,--gc-sections",
        f"-Wl,-Map={job.work / 'firmware.map'}",
        "-o",
        str(image),
    ]
    if board.compiler.linker_script is not None:
        cmd += [
            f"-L{firmware_dir() / 'startup'}",
            "-T",
            str(board.compiler.linker_script),
            "-Wl,--no-warn-rwx-segments",
        ]
    if board.compiler.libc == "freestanding":
        cmd.append("-lgcc")
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        log.error("%s: link failed:\n%s", board.name, proc.stdout + proc.stderr)
        raise BuildError(f"{board.name}: link failed: {_first_error(proc.stdout + proc.stderr)}")
    return image


def image_name(board: Board) -> str:
    """File name of the built image inside ``out_dir``."""
    return f"{board.name}-fw" if board.kind == "host" else f"{board.name}-fw.elf"


def firmware_size(image: Path, board: Board) -> FirmwareSize:
    """text/data/bss of an image, from the toolchain's ``size`` (Berkeley format)."""
    size_tool = _require_tool(board, board.compiler.tool("size"))
    proc = subprocess.run([size_tool, str(image)], capture_output=True, text=True, check=True)
    text, data, bss = (int(v) for v in proc.stdout.splitlines()[1].split()[:3])
    return FirmwareSize(text, data, bss)


def _check_fit(board: Board, size: FirmwareSize) -> None:
    if board.kind == "host":
        return
    for what, used, region in (("flash", size.flash, board.memory.flash), ("RAM", size.ram, board.memory.ram)):
        if used > region.size:
            raise BuildError(f"{board.name}: firmware needs {used} bytes of {what}, the board has {region.size}")


def _publish(board: Board, work: Path, image: Path, out: Path, size: FirmwareSize, build_id: str) -> Path:
    report = {
        "board": board.name,
        "build_id": build_id,
        **asdict(size),
        "flash": size.flash,
        "ram": size.ram,
        "flash_capacity": board.memory.flash.size,
        "ram_capacity": board.memory.ram.size,
    }
    stem = image.name
    (work / "size.json").write_text(json.dumps(report, indent=1) + "\n")
    os.replace(work / "firmware.map", out / f"{stem}.map")
    os.replace(work / "size.json", out / f"{stem}.size.json")
    final = out / stem
    os.replace(image, final)
    log.info(
        "%s: built %s (build %s): flash %.1f KiB of %d KiB, RAM %.1f KiB of %d KiB",
        board.name,
        final,
        build_id,
        size.flash / 1024,
        board.memory.flash.size // 1024,
        size.ram / 1024,
        board.memory.ram.size // 1024,
    )
    return final
