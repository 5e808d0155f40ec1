"""Accuracy of ternary (2-bit) and binary (1-bit) weights on the example models.

For each example model and weight width (8, 4, 2, 1 bits on every conv / depthwise / fully connected
layer; int8 activations), the integer plan is run bit-exactly on the host simulator over the eval set
and scored (top-1) against the float model in onnxruntime. Also one mixed setting per model: the first
and last weighted layers kept at 8 bits, the others ternary (the usual recipe of low-bit networks),
and both ternary settings with bias correction (``--bias-correction``, on the calibration set).
Writes bench/results/lowbit.md and lowbit.json.

    python bench/lowbit_accuracy.py [--samples N] [--models mlp,dwsep] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

import numpy as np

log = logging.getLogger("lowbit_accuracy")
ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "examples" / "models"


def _weighted_layers(graph) -> list[str]:
    from fixpoint.ops.runtime_ops import RUNTIME_OPS

    return [n.name for n in graph.nodes if RUNTIME_OPS[n.op].has_weights]


def settings_for(graph) -> dict[str, dict]:
    """Name -> LowerOptions keyword arguments."""
    names = _weighted_layers(graph)
    inner = {n: 2 for n in names[1:-1]}
    edges = {n: 8 for n in (names[0], names[-1])}
    return {
        "int8": {"weight_bits": 8},
        "int4": {"weight_bits": 4},
        "ternary": {"weight_bits": 2},
        "binary": {"weight_bits": 1},
        "ternary + bias correction": {"weight_bits": 2, "bias_correction": True},
        "ternary (8-bit first/last)": {"weight_bits": 2, "weight_bits_overrides": {**edges, **inner}},
        "ternary (8-bit first/last) + bias correction": {
            "weight_bits": 2,
            "weight_bits_overrides": {**edges, **inner},
            "bias_correction": True,
        },
    }


def measure(model_dir: Path, samples: int) -> dict:
    from fixpoint.calibrate import CalibrationConfig, calibrate, load_samples, model_input_spec
    from fixpoint.evaluate import evaluate
    from fixpoint.frontend import load_model
    from fixpoint.lower import LowerOptions, lower
    from fixpoint.normalize import normalize
    from fixpoint.plan import RequantProfile

    model = model_dir / "model.onnx"
    graph = normalize(load_model(model))
    name, shape = model_input_spec(model)
    quant = calibrate(
        model, graph, load_samples(model_dir / "calib.npz", name, shape), CalibrationConfig(progress=False)
    ).quant
    with np.load(model_dir / "calib.npz") as data:
        calib_x = data["input"]
    with np.load(model_dir / "eval.npz") as data:
        x, labels = data["input"][:samples], data["label"][:samples]
    rows = {}
    for setting, kw in settings_for(graph).items():
        samples = calib_x if kw.get("bias_correction") else None
        plan = lower(graph, quant, RequantProfile(), LowerOptions(samples=samples, **kw))
        result = evaluate(model, graph, plan, x, labels)
        weight_bytes = sum(_packed_bytes(layer) for layer in plan.layers)
        rows[setting] = {
            "top1": 100 * result.int_metric,
            "float_top1": 100 * result.float_metric,
            "drop_pp": result.drop,
            "agreement": result.agreement,
            "weight_bytes": weight_bytes,
            "n": result.n_samples,
        }
        log.info("%s %s: %s", model_dir.name, setting, result.summary())
    return rows


def _packed_bytes(layer) -> int:
    from fixpoint.cparams import layer_arrays_for_c

    arrays = layer_arrays_for_c(layer)
    return int(arrays["weights"].nbytes) if "weights" in arrays and layer.datapath != "s16" else 0


def write(results: dict, out: Path, samples: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Ternary and binary weights: accuracy drop",
        "",
        f"* command: `python bench/lowbit_accuracy.py --samples {samples}`",
        "* int8 activations, default calibration; every conv / depthwise / fully connected layer at the "
        "given weight width; top-1 on the first N eval samples, simulated bit-exactly on the host "
        "(the boards give the same bytes: tests/hil/test_hil_lowbit.py)",
        "* drop = float top-1 minus integer top-1, in percentage points; weight bytes = packed filter "
        "bytes of the plan",
        "",
        "| model | weights | N | top-1 % | drop pp | agreement | weight bytes |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, rows in results.items():
        for setting, r in rows.items():
            lines.append(
                f"| {model} | {setting} | {r['n']} | {r['top1']:.2f} | {r['drop_pp']:.2f} | "
                f"{r['agreement']:.3f} | {r['weight_bytes']} |"
            )
    tmp = out / "lowbit.md.tmp"
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, out / "lowbit.md")
    tmp = out / "lowbit.json.tmp"
    tmp.write_text(json.dumps(results, indent=1))
    os.replace(tmp, out / "lowbit.json")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--models", default="mlp,dwsep,kws,cnn_bn_res")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    results = {m: measure(MODELS / m, args.samples) for m in args.models.split(",")}
    write(results, args.out, args.samples)


if __name__ == "__main__":
    main()
