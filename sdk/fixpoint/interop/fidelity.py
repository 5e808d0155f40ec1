"""``fixpoint eval`` of an imported QDQ model: float | onnxruntime running the QDQ model | Fixpoint's plan.

Two streamed evaluations of the plan: against the float model the QDQ pairs leave (what quantization
as a whole costs) and against the QDQ model as onnxruntime runs it, its quantized tensors under the
float names (:mod:`fixpoint.interop.qdq_reference`): what the board's registers change. The per-layer
SQNR of the second is between the two integer pipelines.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import onnx

from fixpoint.evaluate import EvalResult, evaluate_batches
from fixpoint.interop.qdq_import import QdqImport
from fixpoint.interop.qdq_reference import qdq_reference_model


@dataclass
class Fidelity:
    against_float: EvalResult
    against_qdq: EvalResult


def qdq_fidelity(
    model_path: Path, imported: QdqImport, graph, plan, batches, n: int, labeled: bool, batch_size: int, progress: bool
) -> Fidelity:
    with tempfile.TemporaryDirectory(prefix="fixpoint-fidelity-") as tmp:
        float_path, ref_path = Path(tmp) / "float.onnx", Path(tmp) / "qdq_reference.onnx"
        onnx.save(imported.model, str(float_path))
        onnx.save(qdq_reference_model(onnx.load(str(model_path))), str(ref_path))
        plain = evaluate_batches(float_path, graph, plan, batches, n, labeled, batch_size=batch_size, progress=progress)
        # the reference is made from the QDQ file, not the plan's float model: not a mismatch to warn about
        graph_ref, plan_ref = copy.copy(graph), dataclasses.replace(plan, source_model_sha256="")
        graph_ref.source_sha256 = ""
        qdq = evaluate_batches(
            ref_path, graph_ref, plan_ref, batches, n, labeled, batch_size=batch_size, progress=progress
        )
    return Fidelity(plain, qdq)


def _pct(value) -> str:
    return "    n/a" if value is None else f"{value * 100:6.2f}%"


def _db(value: float) -> str:
    return "     inf" if math.isinf(value) else f"{value:8.2f}"


def format_fidelity(f: Fidelity) -> str:
    lines = [
        f"samples: {f.against_qdq.n_samples}",
        f"{'output':24s} {'float':>8s} {'ORT-QDQ':>8s} {'plan':>8s}  {'plan=ORT-QDQ':>12s} {'SQNR vs QDQ':>11s}",
    ]
    for plain, qdq in zip(f.against_float.outputs, f.against_qdq.outputs):
        lines.append(
            f"{plain.name[:24]:24s} {_pct(plain.float_top1):>8s} {_pct(qdq.float_top1):>8s} "
            f"{_pct(qdq.int_top1):>8s}  {qdq.agreement * 100:11.2f}% {_db(qdq.sqnr_db):>8s} dB"
        )
    lines.append(f"{'layer':40s} {'SQNR plan vs ORT-QDQ dB':>24s} {'SQNR plan vs float dB':>22s}")
    vs_float = {e.name: e for e in f.against_float.per_layer}
    for e in f.against_qdq.per_layer:
        other = vs_float.get(e.name)
        lines.append(f"{e.name[:40]:40s} {_db(e.sqnr_db):>24s} {_db(other.sqnr_db) if other else 'n/a':>22s}")
    return "\n".join(lines)
