"""Read and check a farm file (TOML) against ``schema.json``, resolve boards and models.

    spec = load_farm("examples/farm/nightly.toml")
    spec.jobs()   # boards x models x configs

Every failure is one line naming the file and the field, like board files
(:mod:`fixpoint.boards.loader`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


from .._paths import repo_root
from ..declarative import check_against_schema, read_toml
from .errors import FarmFileError

STAGES = ("calibrate", "simulate", "generate", "build", "launch", "hil")
DEFAULT_TIMEOUTS = {
    "calibrate": 900.0,
    "simulate": 300.0,
    "generate": 120.0,
    "build": 900.0,
    "launch": 120.0,
    "hil": 1800.0,
}


@dataclass(frozen=True)
class Unit:
    """One physical unit of a board: how to reach it (the fields of ``fixpoint hil``'s
    ``--device``/``--serial-number``/``--vid-pid``/``--baud``). ``name`` labels it in logs,
    results and the history; by default its serial number or device."""

    name: str
    device: str | None = None
    serial_number: str | None = None
    vid_pid: str | None = None
    baud: int | None = None

    def connection(self) -> dict[str, Any]:
        """The worker's arguments for :class:`fixpoint.boards.ports.Connection`."""
        return {"device": self.device, "serial_number": self.serial_number, "vid_pid": self.vid_pid, "baud": self.baud}


@dataclass(frozen=True)
class BoardEntry:
    name: str  # board name or board.toml path, as load_board takes it
    instances: int = 1  # how many of its jobs may run at once (len(units) when units are named)
    units: tuple[Unit, ...] = ()  # empty: every instance is launched (QEMU) or found by the board file

    @property
    def key(self) -> str:
        return Path(self.name).parent.name if self.name.endswith(".toml") else Path(self.name).name


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    calib: Path
    eval: Path
    samples: int | None = None


@dataclass(frozen=True)
class ConfigEntry:
    name: str
    policy: str | None = None
    activation_bits: int = 8
    weight_bits: int = 8
    per_tensor_weights: bool = False
    equalize: bool = False
    bias_correction: bool | None = None  # None: what `fixpoint calibrate` does (on for 4-bit layers)
    kernels: str = "auto"
    max_calib_samples: int = 1000
    # the per-tensor policy search: auto = what `fixpoint calibrate` does (fixpoint.pipeline.default_policy_search)
    policy_search: str = "auto"
    # test-only: the host simulates this layer with a shifted bias (a faulty accelerator double)
    perturb_layer: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Thresholds:
    max_drop_pp: float = 1.0  # accuracy drop vs float allowed within a job
    accuracy_change_pp: float = 0.5  # accuracy change vs the baseline flagged as a regression
    instructions_pct: float = 1.0  # growth of instructions per inference vs the baseline
    flash_pct: float = 2.0
    ram_pct: float = 2.0


@dataclass
class FarmSpec:
    path: Path
    name: str
    boards: list[BoardEntry]
    models: list[ModelEntry]
    configs: list[ConfigEntry]
    thresholds: Thresholds = field(default_factory=Thresholds)
    timeouts: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    samples: int | None = None
    workers: int = 2
    out: Path = Path("out/farm")
    db: str | None = None
    trend_runs: int = 10
    health_enabled: bool = True
    health_model: ModelEntry | None = None
    health_samples: int = 4

    def board(self, key: str) -> BoardEntry:
        return next(b for b in self.boards if b.key == key)


_SCHEMA = Path(__file__).parent / "schema.json"


def load_farm(path: str | os.PathLike[str]) -> FarmSpec:
    path = Path(path)
    data = read_toml(path, "farm file", FarmFileError)
    check_against_schema(path, data, _SCHEMA, FarmFileError)
    return _build(path, data)


def _build(path: Path, data: dict[str, Any]) -> FarmSpec:
    farm, health = data.get("farm", {}), data.get("health", {})
    base = path.parent
    boards = [_board(path, i, b) for i, b in enumerate(data["boards"])]
    models = [_model(path, f"models[{i}]", m, base) for i, m in enumerate(data["models"])]
    configs = [_config(path, i, c) for i, c in enumerate(data["configs"])]
    for what, names in (
        ("boards", [b.key for b in boards]),
        ("models", [m.name for m in models]),
        ("configs", [c.name for c in configs]),
    ):
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise FarmFileError(f"{path}: field '{what}': '{dupes[0]}' appears twice")
    health_enabled = health.get("enabled", True)
    health_model = _model(path, "health.model", {"name": health.get("model", "mlp")}, base) if health_enabled else None
    return FarmSpec(
        path=path,
        name=farm.get("name", path.stem),
        boards=boards,
        models=models,
        configs=configs,
        thresholds=Thresholds(**data.get("thresholds", {})),
        timeouts={**DEFAULT_TIMEOUTS, **{k: float(v) for k, v in data.get("timeouts", {}).items()}},
        samples=farm.get("samples"),
        workers=farm.get("workers", 2),
        out=Path(farm.get("out", "out/farm")),
        db=farm.get("db"),
        trend_runs=farm.get("trend_runs", 10),
        health_enabled=health_enabled,
        health_model=health_model,
        health_samples=health.get("samples", 4),
    )


def _config(path: Path, index: int, entry: dict[str, Any]) -> ConfigEntry:
    if entry.get("policy_search") == "on" and "policy" in entry:
        # as `fixpoint calibrate --policy-search --policy P`, the search would not run: say so rather than ignore it
        raise FarmFileError(
            f"{path}: field 'configs[{index}].policy_search': 'on' searches from the default ranges; "
            f"drop it or policy '{entry['policy']}'"
        )
    return ConfigEntry(**entry)


def _board(path: Path, index: int, entry: dict[str, Any]) -> BoardEntry:
    from ..boards import BoardFileError, load_board

    name = entry["name"]
    if name.endswith(".toml") and not Path(name).is_absolute():
        name = str(path.parent / name)
    try:
        load_board(name)
    except BoardFileError as exc:
        raise FarmFileError(f"{path}: field 'boards[{index}].name': {exc}") from None
    if "units" not in entry:
        return BoardEntry(name, entry.get("instances", 1))
    if "instances" in entry:
        raise FarmFileError(
            f"{path}: field 'boards[{index}].instances': give instances or units, not both "
            f"(the instances are the units)"
        )
    units = tuple(_unit(path, index, i, u) for i, u in enumerate(entry["units"]))
    names = [u.name for u in units]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FarmFileError(f"{path}: field 'boards[{index}].units': unit '{dupes[0]}' appears twice (name the units)")
    return BoardEntry(name, len(units), units)


def _unit(path: Path, board: int, index: int, entry: dict[str, Any]) -> Unit:
    where = f"boards[{board}].units[{index}]"
    if not any(k in entry for k in ("device", "serial_number", "vid_pid")):
        raise FarmFileError(f"{path}: field '{where}': give device, serial_number or vid_pid (how to reach this unit)")
    name = entry.get("name") or entry.get("serial_number") or entry.get("device") or f"unit{index}"
    return Unit(
        name=name,
        device=entry.get("device"),
        serial_number=entry.get("serial_number"),
        vid_pid=entry.get("vid_pid"),
        baud=entry.get("baud"),
    )


def _model(path: Path, where: str, entry: dict[str, Any], base: Path) -> ModelEntry:
    """An example (examples/models/NAME), a zoo model (examples/zoo/NAME) or a path with its data."""
    name = entry["name"]
    if "path" in entry:
        model = base / entry["path"]
    else:
        root = repo_root() or Path.cwd()
        candidates = [
            root / "examples" / "models" / name / "model.onnx",
            root / "examples" / "zoo" / name / "model.onnx",
        ]
        model = next((c for c in candidates if c.is_file()), candidates[0])
    calib = base / entry["calib"] if "calib" in entry else model.parent / "calib.npz"
    evals = base / entry["eval"] if "eval" in entry else model.parent / "eval.npz"
    for field_name, file in (("path", model), ("calib", calib), ("eval", evals)):
        if not file.is_file():
            raise FarmFileError(f"{path}: field '{where}.{field_name}': {file} not found")
    return ModelEntry(name, model, calib, evals, entry.get("samples"))
