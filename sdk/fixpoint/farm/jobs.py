"""Farm jobs (one board x model x configuration) and their results.

A job's verdict is PASSED only when the worker reported a finished HIL run
with every sample bit-exact and the accuracy within budget; a timeout, a
crash, a dead board or a missing result is FAILED with the stage and reason;
a job on a quarantined board (or left when the farm stopped) is NOT RUN.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .spec import ConfigEntry, FarmSpec, ModelEntry, Unit

PASSED, FAILED, NOT_RUN, PENDING = "PASSED", "FAILED", "NOT RUN", "PENDING"
FINAL = (PASSED, FAILED, NOT_RUN)


@dataclass(frozen=True)
class Job:
    board: str  # the board entry's key (board name)
    board_ref: str  # what load_board takes (name or board.toml path)
    model: ModelEntry
    config: ConfigEntry
    samples: int | None
    unit: Unit | None = None  # the unit the dispatcher gave this attempt (boards with named units)

    @property
    def id(self) -> str:
        return f"{self.board}.{self.model.name}.{self.config.name}"

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.board, self.model.name, self.config.name)

    def to_worker(self, work_dir: str, timeouts: dict[str, float], max_drop_pp: float, plan_dir: str) -> dict[str, Any]:
        """What the worker process needs, as JSON."""
        return {
            "id": self.id,
            "board": self.board_ref,
            "model": str(self.model.path),
            "calib": str(self.model.calib),
            "eval": str(self.model.eval),
            "samples": self.samples,
            "config": self.config.as_dict(),
            "work_dir": work_dir,
            "plan_dir": plan_dir,
            "timeouts": timeouts,
            "max_drop_pp": max_drop_pp,
            "connection": self.unit.connection() if self.unit is not None else None,
        }

    @property
    def health_key(self) -> str:
        """What a health check vouches for: the board, or one of its named units."""
        return self.board if self.unit is None else f"{self.board}/{self.unit.name}"


@dataclass
class JobResult:
    """One job's row in the history (db.py) and in the JSON / JUnit summaries."""

    run_id: str
    job_id: str
    board: str
    model: str
    config: str
    verdict: str = PENDING
    stage: str = ""  # where a FAILED job stopped
    reason: str = ""
    model_hash: str = ""  # the plan's hash
    source_hash: str = ""  # sha256 of the ONNX file (first 16 hex)
    config_json: str = ""
    build_id: str = ""
    n_samples: int = 0
    bit_exact: int = 0
    mismatches: int = 0
    failures: int = 0
    first_layer: str = ""  # first diverging layer of the first mismatch
    accuracy: float | None = None  # board top-1 against labels
    float_accuracy: float | None = None
    drop_pp: float | None = None
    instructions: float | None = None  # per inference (QEMU: -icount instructions)
    counter_unit: str = ""
    flash: int | None = None
    ram: int | None = None
    arena: int | None = None
    wall_seconds: float = 0.0
    log_path: str = ""
    attempt: int = 1
    commit_id: str = ""  # the run's, per row for queries without a join
    version: str = ""
    toolchain: str = ""  # the board's compiler and QEMU version lines
    qemu: str = ""
    unit: str = ""  # the named unit that ran it ("" for launched boards)

    @classmethod
    def columns(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.board, self.model, self.config)

    @property
    def policy_search(self) -> str | None:
        """The config's policy_search setting: "off" for a row from before the setting existed (the farm
        calibrated with l2 ranges then), None when the row recorded no config (a job the farm could not start)."""
        if not self.config_json:
            return None
        return json.loads(self.config_json).get("policy_search", "off")

    @property
    def searched(self) -> bool | None:
        """Whether this job's calibration ran the policy search, by the rule of ``fixpoint calibrate`` applied to
        the recorded config (``auto`` with a ``policy`` or 4-bit weights is off); None when no config is recorded."""
        from ..pipeline import default_policy_search  # noqa: PLC0415 - the calibration stack, only when compared

        setting = self.policy_search
        if setting is None:
            return None
        config = json.loads(self.config_json)
        return default_policy_search(
            policy=config.get("policy"),
            weight_bits=config.get("weight_bits", 8),
            requested={"auto": None, "on": True, "off": False}[setting],
            explain=False,
        )

    @property
    def bias_corrected(self) -> bool | None:
        """Whether the config corrects the bias of weight rounding: its ``bias_correction``, or when unset what
        ``fixpoint calibrate`` does (on for 4-bit layers); None when no config is recorded."""
        if not self.config_json:
            return None
        config = json.loads(self.config_json)
        setting = config.get("bias_correction")
        return config.get("weight_bits", 8) < 8 if setting is None else bool(setting)

    def calibrated_unlike(self, other: "JobResult") -> str:
        """Why ``other`` was calibrated differently from this job under the same config name ("" when not, or
        when either row does not say): such rows are not compared (a baseline, a trend, ``farm compare``)."""
        if self.searched is None or other.searched is None:
            return ""
        why = []
        if self.searched != other.searched:
            why.append(
                f"policy search {_on(other.searched)} in run {other.run_id} (policy_search {other.policy_search}), "
                f"{_on(self.searched)} in run {self.run_id} (policy_search {self.policy_search})"
            )
        if self.bias_corrected != other.bias_corrected:
            why.append(
                f"bias correction {_on(other.bias_corrected)} in run {other.run_id}, "
                f"{_on(self.bias_corrected)} in run {self.run_id}"
            )
        return "; ".join(why)


def _on(flag: bool | None) -> str:
    return "on" if flag else "off"


@dataclass
class RunInfo:
    """One farm run: what ran, with which tools."""

    run_id: str
    farm: str
    started: str
    finished: str = ""
    status: str = "running"  # running, finished, interrupted
    commit: str = ""
    version: str = ""
    toolchains: dict[str, str] = field(default_factory=dict)  # board -> compiler version line
    qemu: dict[str, str] = field(default_factory=dict)  # board -> QEMU version line
    baseline: str = ""


def expand(spec: FarmSpec) -> list[Job]:
    """boards x models x configs, in the farm file's order."""
    return [
        Job(b.key, b.name, m, c, m.samples or spec.samples)
        for b in spec.boards
        for m in spec.models
        for c in spec.configs
    ]


def health_job(spec: FarmSpec, board_key: str, unit: Unit | None = None) -> Job:
    """The known-good tiny model a board (or one of its units) must pass before its first job."""
    assert spec.health_model is not None
    entry = spec.board(board_key)
    # it vouches for the board, not for the calibration: the quick l2 ranges, no policy search
    config = ConfigEntry(name="health", policy_search="off")
    return Job(board_key, entry.name, spec.health_model, config, spec.health_samples, unit)


def file_hash(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]
