"""The main job as plain functions: model + samples + board -> plan files.

``run_calibration`` chains the stages (load -> normalize -> calibrate ->
lower) and writes the plan, the CTable and the calibration statistics into
one folder, atomically per file. A cache key over the inputs lets
``fixpoint deploy`` reuse a plan whose model, data and options are unchanged.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from . import __version__
from ._paths import data_dir
from .calibrate import CalibrationConfig, CalibrationResult, calibrate, load_inputs
from .calibrate.api import pinned_quant
from .calibrate.data import first_inputs
from .calibrate.datafree import calibrate_data_free
from .calibrate.tensor_bits import (
    SAMPLES as TENSOR_BITS_SAMPLES,
    Precision,
    as_meta as precision_meta,
    measure as measure_tensor_bits,
    quant_of_width,
)
from .ctable import build_ctable, read_ctable, write_ctable
from .frontend import load_model
from .ir import Graph, ModelError
from .iospec import graph_input_specs
from .lower import LowerOptions, lower_with_report
from .lower.saturation import measure_saturation
from .lower.widths import check_widths
from .lower.engine_scales import constrain_for_engines
from .mixed import Budget, choose_mixed_precision
from .mixed.front import mixed_lowering, mixed_quant, write_front
from .normalize import normalize
from .plan import Plan, RequantProfile, load_plan, save_plan
from .lower.refine import refined_weights
from .policy_search import PolicySearchOptions, search_policies
from .range_search import SearchOptions, search_ranges

log = logging.getLogger(__name__)

PLAN_FILE = "plan.fxplan"
CTABLE_FILE = "ctable.json"
STATS_FILE = "stats.npz"
KEY_FILE = "cache_key.txt"


@dataclass
class CalibrationJob:
    """Everything that determines a plan."""

    model_path: Path
    data_path: Path | None  # None: data-free (ranges estimated from BatchNormalization statistics)
    profile: RequantProfile = field(default_factory=RequantProfile)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    lowering: LowerOptions = field(default_factory=LowerOptions)
    board_name: str = ""
    model_name: str = ""  # default: derived from the model path
    search: SearchOptions | None = None  # re-choose each range on the network output (range_search)
    given: dict = field(default_factory=dict)  # QDQ model: tensor -> given quantization (CTable "given")
    encodings: Path | None = None  # AIMET encodings / CTable pinning ranges and parameters (interop)
    policy_search: PolicySearchOptions | None = None  # per-tensor policy search (the CLI's default)
    input_range: tuple[float, float] | None = None  # data-free: the input's value range (None: standardized)
    budget: Budget | None = None  # mixed precision under a budget (fixpoint.mixed)

    @classmethod
    def for_board(
        cls,
        model_path: Path,
        data_path: Path | None,
        board_name: str = "host",
        lowering: LowerOptions | None = None,
        **fields,
    ) -> "CalibrationJob":
        """A job for a board's requantizer and engines, as ``fixpoint calibrate --board`` builds it (no progress
        bars unless ``calibration`` says otherwise; no policy search: ``.with_default_policy_search()`` adds the
        one the CLI runs by default)."""
        from .boards import load_board  # noqa: PLC0415 - the board layer imports the pipeline's users

        target = load_board(board_name).get_target()
        lowering = lowering or LowerOptions()
        if lowering.engines is None and target.engines:
            lowering = replace(lowering, engines=list(target.engines))
        fields.setdefault("calibration", CalibrationConfig(progress=False))
        return cls(
            model_path=Path(model_path),
            data_path=None if data_path is None else Path(data_path),
            profile=target.profile,
            lowering=lowering,
            board_name=board_name,
            **fields,
        )

    def with_default_policy_search(
        self,
        policy: str | None = None,
        requested: bool | None = None,
        options: PolicySearchOptions | None = None,
        how_to_force: str = "--policy-search",
    ) -> "CalibrationJob":
        """This job with the policy search ``fixpoint calibrate`` runs for it by default
        (:func:`default_policy_search`): ``policy`` is the range policy the user chose (None: the default the
        search starts from), ``requested`` True / False / None as there; ``options`` default to the CLI's."""
        on = default_policy_search(
            policy=policy,
            range_search=self.search is not None,
            weight_bits=self.lowering.weight_bits,
            weight_bits_overrides=self.lowering.weight_bits_overrides,
            data_free=self.data_path is None,
            requested=requested,
            how_to_force=how_to_force,
        )
        if not on:
            return replace(self, policy_search=None)
        return replace(self, policy_search=options or PolicySearchOptions(progress=self.calibration.progress))


def default_policy_search(
    *,
    policy: str | None = None,
    range_search: bool = False,
    weight_bits: int = 8,
    weight_bits_overrides: Mapping[str, int] | None = None,
    data_free: bool = False,
    requested: bool | None = None,
    how_to_force: str = "--policy-search",
    explain: bool = True,
) -> bool:
    """Whether ``fixpoint calibrate`` runs its per-tensor policy search for a job with these settings: the one
    rule of the CLI, ``CalibrationJob.with_default_policy_search`` and the farm.

    ``requested``: False turns it off (``--no-search``), True runs it under low-bit weights too
    (``--policy-search``), None decides. Off when the user chose a range ``policy``, the range search
    (``--search``) or no samples (``--data-free``); off under 1/2/4-bit weights (``weight_bits`` or one of
    ``weight_bits_overrides``) unless requested (measured, bench/results/precision.md: under int4 the search's
    plans carry sequential AdaRound, so it takes 45-130 s on the example CNNs, and the l2 ranges it starts from
    are within 1 pp of float on every trained model). ``how_to_force`` names the switch in the log line that
    says so (``explain``)."""
    if requested is False or range_search or policy or data_free:
        return False
    low_bit = weight_bits < 8 or any(int(b) < 8 for b in (weight_bits_overrides or {}).values())
    if low_bit and not requested:
        if explain:
            log.info("policy search: off under low-bit weights (every range by l2; %s runs it)", how_to_force)
        return False
    return True


# The policy search judges on the calibration samples: it needs a full scoring set (``num_samples``, 128 by
# default; ``--search-samples`` sets fewer) and never fewer than this, or it would fit noise.
MIN_SEARCH_SAMPLES = 32


def default_model_name(model_path: Path) -> str:
    """The file stem, or the folder name for the conventional ``NAME/model.onnx``."""
    model_path = Path(model_path)
    return model_path.parent.name if model_path.stem == "model" and model_path.parent.name else model_path.stem


@dataclass
class CalibrationOutputs:
    out_dir: Path
    plan: Plan
    graph: Graph
    ctable: dict
    reused: bool = False

    @property
    def plan_path(self) -> Path:
        return self.out_dir / PLAN_FILE

    @property
    def ctable_path(self) -> Path:
        return self.out_dir / CTABLE_FILE

    @property
    def stats_path(self) -> Path:
        return self.out_dir / STATS_FILE


def load_graph(model_path: str | Path) -> Graph:
    """Front end and normalization: the float graph the later stages read."""
    return normalize(load_model(model_path))


def model_input_spec(graph: Graph) -> tuple[str, list[int]]:
    """The model input's name and per-sample shape in ONNX layout (single-input models)."""
    specs = graph_input_specs(graph)
    if len(specs) != 1:
        raise ModelError(f"{graph.source_path}: the model has {len(specs)} inputs; use graph_input_specs")
    return specs[0]


def _file_digest(path: Path, digest) -> None:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        digest.update(f.name.encode())
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)


@functools.cache
def code_digest() -> str:
    """A digest of the code that makes a plan: this package's Python sources and the C
    runtime the searches simulate with. Part of the plan cache key, so a plan made by
    other code (an edited checkout, a new wheel with the same version) is not reused."""
    digest = hashlib.sha256()
    roots = [
        (Path(__file__).resolve().parent, "*.py"),
        (data_dir("runtime") / "src", "*.c"),
        (data_dir("runtime") / "include", "*.h"),
    ]
    for root, pattern in roots:
        for path in sorted(root.rglob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(job: CalibrationJob) -> str:
    digest = hashlib.sha256(f"fixpoint {__version__} {code_digest()}".encode())
    _file_digest(job.model_path, digest)
    if job.data_path is not None:
        _file_digest(job.data_path, digest)
    if job.encodings is not None:
        _file_digest(Path(job.encodings), digest)
    options = {
        "name": job.model_name,
        "profile": asdict(job.profile),
        "calibration": asdict(job.calibration),
        "lowering": job.lowering.summary(),
        "input_range": job.input_range,
        "search": None if job.search is None else asdict(job.search),
        "policy_search": None if job.policy_search is None else asdict(job.policy_search),
    }
    if job.lowering.engines:  # the engines (datapaths, limits, costs) decide the layers' requantizers
        options["engines"] = [e.describe() if hasattr(e, "describe") else repr(e) for e in job.lowering.engines]
    if job.budget is not None:  # only when set: keeps the key of every other job unchanged
        options["budget"] = job.budget.text()
    options["calibration"].pop("progress", None)
    for key in ("search", "policy_search"):
        if options[key] is not None:
            options[key].pop("progress", None)
    digest.update(json.dumps(options, sort_keys=True, default=str).encode())
    return digest.hexdigest()


def run_calibration(job: CalibrationJob, out_dir: str | Path, reuse: bool = True) -> CalibrationOutputs:
    """Calibrate and lower ``job`` into ``out_dir`` (plan, CTable, statistics)."""
    out_dir = Path(out_dir)
    _fit_calibration_to_profile(job)
    model_path = _float_model(job, out_dir)
    key = cache_key(job)
    graph = load_graph(model_path)
    graph.name = job.model_name or default_model_name(job.model_path)
    # before the slow stages: a pattern matching no layer, a width an op has no kernel for
    check_widths(graph, job.lowering, job.lowering.activation_bits or job.calibration.bits)
    if reuse and _cached(out_dir, key):
        log.info("reusing the cached plan in %s (model, data and options unchanged)", out_dir)
        return CalibrationOutputs(
            out_dir, load_plan(out_dir / PLAN_FILE), graph, read_ctable(out_dir / CTABLE_FILE), reused=True
        )
    if job.data_path is None:
        calib, data = calibrate_data_free(model_path, graph, job.calibration, job.input_range), None
    else:
        data = load_inputs(job.data_path, graph_input_specs(graph), max_samples=job.calibration.max_samples)
        calib = calibrate(model_path, graph, data, job.calibration)
    # the options this run lowers with; ``job`` stays as given, so its cache key stays valid. The
    # searches and the int8 / int16 measurement lower uniform-width plans: per-layer widths come last
    lowering = replace(job.lowering, activation_bits_overrides={})
    searched = None
    if job.search is not None and data is not None:
        calib.quant, searched = search_ranges(graph, calib, job.calibration, job.profile, lowering, data, job.search)
    mixed = None
    if job.budget is not None and data is None:
        raise ModelError("--budget needs calibration samples (it simulates each choice); drop --data-free")
    if job.budget is not None:
        mixed = choose_mixed_precision(graph, calib, job.calibration, job.profile, lowering, data, job.budget)
        calib.quant = mixed_quant(graph, calib, job.calibration, mixed)
        lowering = mixed_lowering(lowering, mixed)
    # under a budget the mixed-precision search has chosen each tensor's width and range already
    policy_report = _policy_search(job, graph, calib, data, lowering) if mixed is None else None
    if policy_report is not None:
        # the weight refinements that lowered the output loss of the chosen ranges (policy_search)
        lowering = policy_report.refined(lowering)
    if lowering.samples is None:
        lowering = replace(lowering, samples=data)  # for the data-driven refinements (bias correction, ...)
    # decide the engine assignment first, then power-of-two scales where a shift-only engine should run
    calib.quant, engine_scales = constrain_for_engines(graph, calib.quant, job.profile, lowering)
    # int8 or int16 per tensor: measured (attention models only) and applied as per-layer widths
    precision = None
    if data is not None and mixed is None:
        precision = measure_tensor_bits(
            graph, calib, job.calibration, job.profile, lowering, first_inputs(data, TENSOR_BITS_SAMPLES)
        )
    lowering = _with_activation_widths(
        graph, calib, job.calibration, lowering, precision, job.lowering.activation_bits_overrides
    )
    plan, report, note = _lower_with_widths(graph, calib.quant, job.profile, lowering, job.lowering)
    if engine_scales:
        plan.meta["engine_scales"] = engine_scales
    if precision is not None:
        asked = job.lowering.activation_bits_overrides
        plan.meta["tensor_precision"] = precision_meta(
            precision.choices,
            16 if plan.tensors[plan.inputs[0]].dtype == "int16" else 8,
            plan,
            note,
            f"activation_bits_overrides {asked}" if asked else "",
        )
    if mixed is not None:
        plan.meta["mixed_precision"] = mixed.as_dict()
    plan.meta.setdefault("board", job.board_name)
    saturation = measure_saturation(plan, first_inputs(data, lowering.max_samples)) if data is not None else {}
    if saturation:
        plan.meta["accumulator_saturation"] = saturation
    if searched is not None:
        plan.meta["range_search"] = searched.as_dict()
    if job.given:
        plan.meta["given"] = job.given
    if calib.estimated:
        plan.meta["ranges_estimated"] = calib.estimated
    if policy_report is not None:
        # wall time stays out of the plan: the same inputs give the same plan hash (when the time box is not hit)
        plan.meta["policy_search"] = {k: v for k, v in policy_report.as_dict().items() if k != "seconds"}
        calib.search = policy_report.as_dict()
    ctable = build_ctable(plan, _quant_by_tensor(plan, calib.quant, lowering), report)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / KEY_FILE).unlink(missing_ok=True)  # stale until every file is rewritten
    calib.save_stats(out_dir / STATS_FILE)
    write_ctable(out_dir / CTABLE_FILE, ctable)
    save_plan(plan, out_dir / PLAN_FILE)
    if mixed is not None:
        write_front(out_dir, mixed)
    (out_dir / KEY_FILE).write_text(key)
    log.info(
        "wrote %s (%d layers, arena %d bytes), %s, %s",
        out_dir / PLAN_FILE,
        len(plan.layers),
        plan.arena_size,
        CTABLE_FILE,
        STATS_FILE,
    )
    return CalibrationOutputs(out_dir, plan, graph, ctable)


def _with_activation_widths(
    graph: Graph,
    calib: CalibrationResult,
    config: CalibrationConfig,
    lowering: LowerOptions,
    precision: Precision | None,
    asked: dict[str, int],
) -> LowerOptions:
    """``lowering`` with per-layer activation widths: the user's overrides (``asked``), else the measured
    choice, and the 16-bit calibration they need."""
    widths = asked or (precision.widths if precision is not None else {})
    if not widths:
        return lowering
    quant = dict(lowering.activation_quant)
    for bits in set(widths.values()) - {config.bits} - set(quant):
        other = precision.quant16 if precision is not None and bits == 16 else None
        other = other if other is not None else quant_of_width(graph, calib, config, bits)
        if other is not None:
            quant[bits] = other
    for bits in set(quant) - {config.bits}:
        quant[bits] = {**quant[bits], **_pinned_of_width(calib, config, bits)}
    # a missing calibration is named by the lowering (LowerContext.quant_for): one error line
    return replace(lowering, activation_bits_overrides=widths, activation_quant=quant)


def _pinned_of_width(calib: CalibrationResult, config: CalibrationConfig, bits: int) -> dict:
    """The tensors a QDQ model gives at ``bits``, the width other than the calibration's, kept exactly."""
    other = replace(config, bits=bits, pinned=config.pinned_other_width)
    return {name: pinned_quant(calib.stats[name], other) for name in config.pinned_other_width if name in calib.stats}


def _lower_with_widths(graph: Graph, quant: dict, profile: RequantProfile, lowering: LowerOptions, asked: LowerOptions):
    """(plan, report, note): the lowering; when the measured widths cannot be lowered, the plan at the
    base width and the reason (widths the user asked for are never dropped silently: their error stands)."""
    try:
        return (*lower_with_report(graph, quant, profile, lowering), "")
    except ModelError as exc:
        if asked.activation_bits_overrides or not lowering.activation_bits_overrides:
            raise
        log.warning("per-tensor int16 not applied: %s", exc)
        base = replace(lowering, activation_bits_overrides={}, activation_quant={})
        return (*lower_with_report(graph, quant, profile, base), f"lowering them failed: {exc}")


def _quant_by_tensor(plan: Plan, quant: dict, lowering: LowerOptions) -> dict:
    """The calibration entry each plan tensor was quantized from: the other width's calibration for a
    tensor a per-layer width put at that width (the CTable's scheme, policy and range)."""
    out = dict(quant)
    for t in plan.tensors:
        bits = 16 if t.dtype == "int16" else 8
        other = lowering.activation_quant.get(bits)
        value = t.source or t.name  # an output's producer renamed '<value>@int16' keeps its value's entry
        if other is not None and value in other and (value not in quant or quant[value].bits != bits):
            out[t.name] = other[value]
    return out


def _float_model(job: CalibrationJob, out_dir: Path) -> Path:
    """The model the stages read: a QDQ model's float graph (its quantization kept as given), else the model."""
    from .interop.given_job import apply_encodings, apply_qdq, load_if_qdq

    imported = load_if_qdq(job.model_path)
    path = job.model_path if imported is None else apply_qdq(job, imported, out_dir)
    return path if job.encodings is None else apply_encodings(job, path, out_dir)


def _policy_search(job: CalibrationJob, graph: Graph, calib: CalibrationResult, data, lowering: LowerOptions):
    """Run the per-tensor policy search when asked and the set is large enough; its report or None."""
    if job.policy_search is None or job.search is not None or data is None:
        return None
    needed = max(job.policy_search.num_samples, MIN_SEARCH_SAMPLES)
    if len(data) < needed:
        log.info(
            "policy search skipped: %d calibration samples, it scores on %d (--search-samples); ranges by %s",
            len(data),
            needed,
            job.calibration.policy,
        )
        return None
    # score the ranges with the refined low-bit weights the final plan will have (int4: AdaRound)
    fixed = refined_weights(
        graph, calib.quant, job.profile, lowering if lowering.samples is not None else replace(lowering, samples=data)
    )
    lowering = replace(lowering, fixed_weights=fixed) if fixed else lowering
    calib.quant, report = search_policies(graph, calib, job.calibration, job.profile, lowering, data, job.policy_search)
    return report


def _fit_calibration_to_profile(job: CalibrationJob) -> None:
    """Architecture-aware defaults: shift-only hardware can only apply power-of-two scales,
    so activations are calibrated with the pow2 scheme unless the user chose a scheme."""
    if job.profile.rounding == "shift_only" and job.calibration.scheme is None:
        log.info("board requantizes by shifts only: calibrating activations with the pow2 scheme")
        job.calibration.scheme = "pow2"


def _cached(out_dir: Path, key: str) -> bool:
    key_file = out_dir / KEY_FILE
    return (
        key_file.is_file()
        and key_file.read_text().strip() == key
        and all((out_dir / f).is_file() for f in (PLAN_FILE, CTABLE_FILE, STATS_FILE))
    )


def load_stats(plan_dir: Path) -> CalibrationResult | None:
    path = plan_dir / STATS_FILE
    return CalibrationResult.load_stats(path) if path.is_file() else None
