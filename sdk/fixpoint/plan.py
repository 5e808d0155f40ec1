"""The lowered integer plan: the single source of truth.

The calibrator's lowering stage produces a :class:`Plan`; the host simulator
(``fixpoint.sim``) and the C code generator (``fixpoint.codegen``) both read it
and never recompute a scale, shift or offset of their own. The on-disk format
(``.fxplan``) is documented in ``docs/plan-format.md``.

Layout conventions (same as the C runtime, ``runtime/include/fp_types.h``):

* every activation tensor is NHWC with 4 dims; rank-2 tensors [N, C] are
  stored as [N, 1, 1, C];
* ``layer.params`` holds the scalar integer fields of the layer's C params
  struct by their C names (``stride_h``, ``input_offset``, ``act_min``, ...);
  dims come from the tensors and the weight arrays, not from ``params``;
* ``layer.arrays`` holds the layer's constant arrays: ``weights`` (int8; for
  the ``s4`` datapath the *unpacked* int8 values in [-8, 7], for ``s2`` in
  [-1, 1] (ternary), for ``s1`` -1 or +1 (binary); packing happens
  when the arrays are handed to C), ``bias`` (int32, or int64 for ``s16``),
  ``multiplier`` and ``shift`` (int32, one per output channel or one),
  and op-specific tables (``exp_lut``, ``one_over_one_plus_x_lut``).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .fileio import atomic_path

PLAN_FORMAT_VERSION = 3
# versions this reader accepts: 3 added per-engine requant profiles (engine_profiles) and the ops lstm / gru
# (per-gate params, int16 tables); a version-2 plan holds none of it and reads unchanged
READABLE_PLAN_VERSIONS = (2, 3)

DTYPES = {"int8": np.int8, "int16": np.int16}
ROUNDING_MODES = ("double", "single", "shift_only", "half_even")
ACC_OVERFLOW_MODES = ("saturate", "wrap")
# s2 / s1 (ternary / binary weights) came without a version bump: a reader that predates them
# refuses their layers by this check ("unknown datapath"), so it never misreads such a plan.
DATAPATHS = ("s8", "s4", "s16", "s2", "s1")


class PlanError(ValueError):
    """A plan file or plan object is malformed."""


@dataclass
class RequantProfile:
    """What the target's requantization hardware can represent."""

    rounding: str = "double"  # one of ROUNDING_MODES
    multiplier_bits: int = 32  # width of the multiplier register
    shift_min: int = -31  # legal shift register range (shift > 0: left)
    shift_max: int = 30
    per_channel: bool = True  # per-output-channel multipliers allowed
    accumulator_bits: int = 32  # 8..32: the engine's accumulator register (s8 / s4 datapaths)
    accumulator_overflow: str = "saturate"  # or "wrap": what that register does when a sum leaves it

    def __post_init__(self) -> None:
        # The one check of a profile: a Target's engines, a plan file and the Python API all build one.
        if self.rounding not in ROUNDING_MODES:
            raise PlanError(f"requant profile: rounding '{self.rounding}' is not one of {ROUNDING_MODES}")
        if not 2 <= int(self.multiplier_bits) <= 32:
            raise PlanError(f"requant profile: multiplier_bits must be in [2, 32], got {self.multiplier_bits}")
        if not 8 <= int(self.accumulator_bits) <= 32:
            raise PlanError(f"requant profile: accumulator_bits must be in [8, 32], got {self.accumulator_bits}")
        if self.accumulator_overflow not in ACC_OVERFLOW_MODES:
            raise PlanError(
                f"requant profile: accumulator_overflow '{self.accumulator_overflow}' "
                f"is not one of {ACC_OVERFLOW_MODES}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON form; the accumulator fields only when they differ from the 32-bit default
        (so plans without engines keep their hashes)."""
        out = asdict(self)
        if self.accumulator_bits == 32 and self.accumulator_overflow == "saturate":
            del out["accumulator_bits"], out["accumulator_overflow"]
        return out


@dataclass
class PlanTensor:
    """An activation tensor in the integer program."""

    name: str
    shape: list[int]  # NHWC, always 4 dims
    dtype: str  # "int8" | "int16"
    scale: float
    zero_point: int
    source: str = ""  # the ONNX tensor name it quantizes
    source_layout: str = "NHWC"  # layout of the ONNX tensor: "NCHW", "NC", "NCL" (N, C, L), "NHWC"
    offset: int = -1  # arena byte offset (set by memory planning)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * np.dtype(DTYPES[self.dtype]).itemsize


@dataclass
class PlanLayer:
    """One integer layer: an op of the runtime and its register values."""

    name: str
    op: str  # runtime op key, e.g. "conv2d" (see fixpoint.ops)
    datapath: str  # "s8" | "s4" | "s16" | "s2" | "s1"
    inputs: list[int]
    output: int
    params: dict[str, Any] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    engine: str = "default"  # accelerator engine executing the layer
    source_nodes: list[str] = field(default_factory=list)  # ONNX nodes fused into it


@dataclass
class Plan:
    """A whole lowered model."""

    model_name: str
    tensors: list[PlanTensor]
    layers: list[PlanLayer]
    inputs: list[int]
    outputs: list[int]
    profile: RequantProfile = field(default_factory=RequantProfile)
    arena_size: int = 0
    model_hash: str = ""
    source_model_sha256: str = ""
    version: int = PLAN_FORMAT_VERSION
    meta: dict[str, Any] = field(default_factory=dict)
    engine_profiles: dict[str, RequantProfile] = field(default_factory=dict)  # engine name -> its requantizer

    def tensor(self, index: int) -> PlanTensor:
        return self.tensors[index]

    def layer_profile(self, index: int) -> RequantProfile:
        """The requantizer of the engine running layer ``index`` (the plan's profile by default)."""
        return self.engine_profiles.get(self.layers[index].engine, self.profile)

    def compute_hash(self) -> str:
        """sha256 over the plan's JSON header and every array's bytes."""
        import hashlib

        digest = hashlib.sha256()
        digest.update(json.dumps(_header(self, with_hash=False), sort_keys=True, default=_json_default).encode())
        for i, layer in enumerate(self.layers):
            for key in sorted(layer.arrays):
                arr = np.ascontiguousarray(layer.arrays[key])
                digest.update(f"{i}/{key}/{arr.dtype.str}/{arr.shape}".encode())
                digest.update(arr.tobytes())
        return digest.hexdigest()


def _header(plan: Plan, with_hash: bool = True) -> dict[str, Any]:
    layers = []
    for layer in plan.layers:
        # asdict would deep-copy every weight array only for it to be dropped (the policy search hashes
        # hundreds of plans): convert the layer without its arrays
        entry = {k: v for k, v in asdict(replace(layer, arrays={})).items() if k != "arrays"}
        entry["arrays"] = {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in sorted(layer.arrays.items())}
        layers.append(entry)
    header = {
        "format": "fixpoint-plan",
        "version": plan.version,
        "model_name": plan.model_name,
        "source_model_sha256": plan.source_model_sha256,
        "profile": plan.profile.to_dict(),
        "arena_size": plan.arena_size,
        "inputs": plan.inputs,
        "outputs": plan.outputs,
        "tensors": [asdict(t) for t in plan.tensors],
        "layers": layers,
        "meta": plan.meta,
    }
    if plan.engine_profiles:
        header["engine_profiles"] = {k: v.to_dict() for k, v in sorted(plan.engine_profiles.items())}
    if with_hash:
        header["model_hash"] = plan.model_hash
    return header


def save_plan(plan: Plan, path: str | os.PathLike) -> Path:
    """Write ``plan`` atomically: a zip holding plan.json and one .npy per array."""
    path = Path(path)
    validate_plan(plan)
    if not plan.model_hash:
        plan.model_hash = plan.compute_hash()
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("plan.json", json.dumps(_header(plan), indent=1, sort_keys=True, default=_json_default))
        for i, layer in enumerate(plan.layers):
            for key, arr in layer.arrays.items():
                buf = io.BytesIO()
                np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
                zf.writestr(f"arrays/{i}/{key}.npy", buf.getvalue())
    return path


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def load_plan(path: str | os.PathLike) -> Plan:
    """Read a ``.fxplan`` file; raises PlanError naming the file on any defect."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as zf:
            header = json.loads(zf.read("plan.json"))
            if header.get("format") != "fixpoint-plan":
                raise PlanError(f"{path}: not a Fixpoint plan (format field missing)")
            if header.get("version") not in READABLE_PLAN_VERSIONS:
                raise PlanError(
                    f"{path}: plan format version {header.get('version')} "
                    f"is not supported (expected one of {READABLE_PLAN_VERSIONS})"
                )
            layers = []
            for i, entry in enumerate(header["layers"]):
                specs = entry.pop("arrays")
                arrays = {
                    key: np.load(io.BytesIO(zf.read(f"arrays/{i}/{key}.npy")), allow_pickle=False) for key in specs
                }
                layers.append(PlanLayer(arrays=arrays, **entry))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, TypeError, OSError) as exc:
        raise PlanError(f"{path}: unreadable plan file ({type(exc).__name__}: {exc})") from None
    plan = Plan(
        model_name=header["model_name"],
        tensors=[PlanTensor(**t) for t in header["tensors"]],
        layers=layers,
        inputs=header["inputs"],
        outputs=header["outputs"],
        profile=RequantProfile(**header["profile"]),
        engine_profiles={k: RequantProfile(**v) for k, v in header.get("engine_profiles", {}).items()},
        arena_size=header["arena_size"],
        model_hash=header.get("model_hash", ""),
        source_model_sha256=header.get("source_model_sha256", ""),
        version=header["version"],
        meta=header.get("meta", {}),
    )
    validate_plan(plan, origin=str(path))
    return plan


def validate_plan(plan: Plan, origin: str = "plan") -> None:
    """Structural checks shared by writer and reader (not numeric ranges)."""
    n = len(plan.tensors)
    for t in plan.tensors:
        if len(t.shape) != 4 or any(int(d) <= 0 for d in t.shape):
            raise PlanError(f"{origin}: tensor '{t.name}' must have 4 positive NHWC dims, got {t.shape}")
        if t.dtype not in DTYPES:
            raise PlanError(f"{origin}: tensor '{t.name}' has unsupported dtype '{t.dtype}'")
    for layer in plan.layers:
        if layer.datapath not in DATAPATHS:
            raise PlanError(f"{origin}: layer '{layer.name}' has unknown datapath '{layer.datapath}'")
        for idx in [*layer.inputs, layer.output]:
            if not 0 <= idx < n:
                raise PlanError(f"{origin}: layer '{layer.name}' refers to missing tensor {idx}")
    # profiles validate themselves on construction (RequantProfile.__post_init__)
