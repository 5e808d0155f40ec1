"""One farm job in its own process: ``python -m fixpoint.farm.worker JOB.json``.

The farm (runner.py) supervises this process: it reads ``status.json`` (the
stage under way and since when) to enforce each stage's timeout and kills the
process group when one runs out. Everything the job learns is on disk as soon
as it is known: ``status.json`` per stage, one line per finished sample in
``samples.jsonl``, ``result.json`` (the HIL result) at the end, ``error.json``
when a stage raised. SIGTERM unwinds normally, so the board runner reaps its
QEMU / host firmware (which would also die with this process: PDEATHSIG).
"""

from __future__ import annotations

import copy
import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..fileio import atomic_write_text

log = logging.getLogger("fixpoint.farm.worker")

STATUS, SAMPLES, RESULT, ERROR = "status.json", "samples.jsonl", "result.json", "error.json"


class _Terminated(Exception):
    """SIGTERM from the farm: unwind (reaping the board) and stop."""


class _Recorder:
    """Writes the stage and the per-sample progress of a job as they happen."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.stage = "start"
        self._samples = open(work / SAMPLES, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def on_stage(self, stage: str) -> None:
        self.stage = stage
        atomic_write_text(self.work / STATUS, json.dumps({"stage": stage, "since": time.time()}))
        log.info("stage %s", stage)

    def on_sample(self, index: int, outcome: str) -> None:
        self._samples.write(json.dumps({"sample": index, "outcome": outcome, "t": time.time()}) + "\n")
        self._samples.flush()

    def close(self) -> None:
        self._samples.close()


# a config's policy_search -> CalibrationJob.with_default_policy_search's ``requested``
_POLICY_SEARCH = {"auto": None, "on": True, "off": False}


def _calibrate(spec: dict[str, Any]):
    """The plan of the job's config, calibrated as ``fixpoint calibrate`` with the config's options does
    (the same job, so the same plan and plan-cache key)."""
    from ..boards import load_board
    from ..calibrate import CalibrationConfig
    from ..lower import LowerOptions
    from ..pipeline import CalibrationJob, run_calibration

    board = load_board(spec["board"])
    cfg = spec["config"]
    calib = CalibrationConfig(
        bits=cfg["activation_bits"], batch_size=32, max_samples=cfg["max_calib_samples"], progress=False
    )
    if cfg.get("policy"):
        calib.policy = cfg["policy"]
    lowering = LowerOptions(
        weight_bits=cfg["weight_bits"],
        per_channel=not cfg["per_tensor_weights"],
        equalize=cfg["equalize"],
        bias_correction=cfg.get("bias_correction"),
        engines=list(board.get_target().engines) or None,
    )
    job = CalibrationJob(
        model_path=Path(spec["model"]),
        data_path=Path(spec["calib"]),
        profile=board.get_target().profile,
        calibration=calib,
        lowering=lowering,
        board_name=board.name,
    ).with_default_policy_search(
        cfg.get("policy"), _POLICY_SEARCH[cfg.get("policy_search", "auto")], how_to_force='policy_search = "on"'
    )
    return run_calibration(job, spec["plan_dir"], reuse=True)


def perturbed(plan, index: int):
    """Test-only: the plan with one layer's bias shifted (what a faulty accelerator would compute)."""
    from .errors import FarmError

    if index >= len(plan.layers):
        raise FarmError(f"perturb_layer {index}: the plan has {len(plan.layers)} layers")
    altered = copy.deepcopy(plan)
    layer = altered.layers[index]
    if "bias" not in layer.arrays:
        raise FarmError(f"perturb_layer {index}: layer '{layer.name}' has no bias")
    layer.arrays["bias"] = layer.arrays["bias"] + layer.arrays["bias"].dtype.type(1000)
    altered.model_hash = altered.compute_hash()
    return altered


def run_job(spec: dict[str, Any], rec: _Recorder) -> dict[str, Any]:
    from ..boards.ports import Connection
    from ..commands._common import load_plan_data
    from ..hil import HilJob, run_hil, write_json
    from ..sim.executor import set_defaults

    work = Path(spec["work_dir"])
    set_defaults(kernels=spec["config"]["kernels"])
    rec.on_stage("calibrate")
    outputs = _calibrate(spec)
    plan = outputs.plan
    x, labels = load_plan_data(Path(spec["eval"]), plan)
    n = len(x[0]) if spec["samples"] is None else min(spec["samples"], len(x[0]))
    layer = spec["config"].get("perturb_layer")
    job = HilJob(
        plan=plan,
        board=spec["board"],
        x=[a[:n] for a in x],
        labels={k: v[:n] for k, v in labels.items()},
        model_path=Path(spec["model"]),
        work_dir=work / "hil",
        max_drop_pp=spec["max_drop_pp"],
        sim_plan=None if layer is None else perturbed(plan, layer),
        progress=False,
        on_stage=rec.on_stage,
        on_sample=rec.on_sample,
        connection=Connection(**spec["connection"]) if spec.get("connection") else None,
    )
    result = run_hil(job)
    write_json(work / "hil-result.json", result)
    sizes = sorted((work / "hil" / "fw").glob("*.size.json"))
    build_id = json.loads(sizes[0].read_text()).get("build_id", "") if sizes else ""
    data = json.loads((work / "hil-result.json").read_text())
    data["build_id"] = build_id
    data["n_layers"] = len(plan.layers)
    return data


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    work = Path(spec["work_dir"])
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.CRITICAL)

    def _on_term(signum: int, frame: object) -> None:
        raise _Terminated(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, _on_term)
    rec = _Recorder(work)
    try:
        result = run_job(spec, rec)
        atomic_write_text(work / RESULT, json.dumps(result, default=_json_default))
        return 0
    except BaseException as exc:  # noqa: BLE001 - every way out is recorded for the farm
        text = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
        atomic_write_text(work / ERROR, json.dumps({"stage": rec.stage, "kind": type(exc).__name__, "reason": text}))
        log.error(
            "stage %s: %s: %s",
            rec.stage,
            type(exc).__name__,
            text,
            exc_info=not isinstance(exc, (_Terminated, KeyboardInterrupt)),
        )
        return 1
    finally:
        rec.close()


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
