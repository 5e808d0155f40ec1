#!/usr/bin/env python3
"""Check that AIMET itself accepts an encodings file (e.g. `fixpoint export --format aimet`) for an ONNX model.

Usage: python tools/check_aimet_encodings.py MODEL.onnx ENCODINGS.json [--strict] [--untie]

Runs under a separate virtualenv with aimet-onnx (not a Fixpoint dependency, not part of `make test`):
    python3 -m venv /work/aimet-venv && /work/aimet-venv/bin/pip install aimet-onnx
    /work/aimet-venv/bin/python tools/check_aimet_encodings.py model.onnx encodings.json

What it does, all with AIMET's own code: builds a ``QuantizationSimModel`` on the model (parameter and
activation types from the file's ``quantizer_args``), loads the file with
``aimet_onnx.quantsim.load_encodings_to_sim(sim, path, strict=False)`` -- AIMET validates every entry and
adapts its quantizers to the file, as its own ``set_and_freeze_param_encodings`` does; ``--strict``
instead refuses any quantizer whose setting differs from AIMET's default configuration (e.g. a MaxPool
output it would not quantize, a symmetric activation) -- then reads every named quantizer back
(``export_encodings("1.0.0")``) and compares bitwidth, scales and offsets with the file, so a field AIMET
silently ignored is caught too. AIMET ties the input and output quantizers of Concat, AveragePool and Relu
(one encoding for all of them); a file that gives those tensors different encodings is reported as such, and
``--untie`` turns the tying off (aimet-onnx's module switch ``quantsim._tie_qtzrs``) to check the values.
Exit 0 when AIMET loaded the file and holds its values; 1 with AIMET's error (or the differing values).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

log = logging.getLogger("check_aimet_encodings")


def _sim(model_path: str, encodings: dict):
    """A QuantizationSimModel of the model with the file's activation and parameter bit widths."""
    import onnx
    from aimet_onnx.quantsim import QuantizationSimModel

    args = encodings.get("quantizer_args", {})
    act_bits, param_bits = args.get("activation_bitwidth", 8), args.get("param_bitwidth", 8)
    return QuantizationSimModel(onnx.load(model_path), param_type=f"int{param_bits}", activation_type=f"int{act_bits}")


def _differences(sim, encodings: dict) -> list[str]:
    """Entries of the file that the sim does not hold as given (disabled quantizer, other bw/scale/offset)."""
    import numpy as np

    problems = []
    names_of: dict[int, list[str]] = {}
    for entry in encodings["activation_encodings"] + encodings["param_encodings"]:
        if entry["name"] in sim.qc_quantize_op_dict:
            names_of.setdefault(id(sim.qc_quantize_op_dict[entry["name"]]), []).append(entry["name"])
    for entry in encodings["activation_encodings"] + encodings["param_encodings"]:
        name = entry["name"]
        quantizer = sim.qc_quantize_op_dict.get(name)
        if quantizer is None or not quantizer.enabled:
            problems.append(f"{name}: no enabled AIMET quantizer after loading")
            continue
        held = quantizer.export_encodings("1.0.0")
        if held["bw"] != entry["bw"]:
            problems.append(f"{name}: bw {held['bw']} in AIMET, {entry['bw']} in the file")
        tied = [n for n in names_of.get(id(quantizer), []) if n != name]
        if tied and not np.allclose(held["scale"], entry["scale"], rtol=1e-6, atol=0):
            problems.append(
                f"{name}: AIMET ties its quantizer to {tied} (one encoding for all) and keeps another "
                f"scale; the file gives them different encodings (check the values with --untie)"
            )
        elif not np.allclose(held["scale"], entry["scale"], rtol=1e-6, atol=0):
            problems.append(f"{name}: scales differ (AIMET {held['scale'][:4]}, file {entry['scale'][:4]})")
        if not np.array_equal(np.asarray(held["offset"], np.int64), np.asarray(entry["offset"], np.int64)):
            problems.append(f"{name}: offsets differ (AIMET {held['offset'][:4]}, file {entry['offset'][:4]})")
    return problems


def check(model_path: str, encodings_path: str, strict: bool = False, untie: bool = False) -> list[str]:
    """[] when AIMET loads the file onto the model and holds its values, else the reasons."""
    import aimet_onnx
    from aimet_onnx import quantsim
    from aimet_onnx.quantsim import load_encodings_to_sim

    quantsim._tie_qtzrs = not untie

    with open(encodings_path) as f:
        encodings = json.load(f)
    log.info("aimet-onnx %s, encodings version %s", aimet_onnx.__version__, encodings.get("version"))
    sim = _sim(model_path, encodings)
    try:
        mismatches = load_encodings_to_sim(sim, encodings_path, strict=strict)
    except Exception as exc:  # AIMET raises AssertionError, ValueError, RuntimeError, KeyError ...
        return [f"load_encodings_to_sim: {type(exc).__name__}: {exc}"]
    for m in mismatches:
        log.info(
            "AIMET adapted its quantizer %s to the file: %s",
            m.quantizer_name,
            {k: v for k, v in vars(m).items() if v and k != "quantizer_name"},
        )
    return _differences(sim, encodings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("encodings")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="load_encodings_to_sim(strict=True): settings must match AIMET's default config",
    )
    parser.add_argument(
        "--untie", action="store_true", help="do not tie Concat/AveragePool/Relu input and output quantizers in the sim"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    problems = check(args.model, args.encodings, strict=args.strict, untie=args.untie)
    if problems:
        for line in problems:
            log.error("rejected: %s", line)
        return 1
    log.info("accepted: AIMET loaded %s onto %s", args.encodings, args.model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
