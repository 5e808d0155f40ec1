"""Apply a QDQ model's given quantization to a calibration job (used by ``fixpoint.pipeline``).

The float model the QDQ pairs leave is written next to the plan (``float_model.onnx``) because
calibration runs onnxruntime on a file; the given activation parameters become pinned
calibration entries and the given integers lowering's ``given_params``. On a board that can only
shift (``shift_only``), a given scale that is not a power of two is refined to the nearest one;
every tensor's given and used scale and the relative error land in the CTable (``given``).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import onnx

from fixpoint.fileio import atomic_write_bytes
from fixpoint.interop.qdq_import import GivenActivation, QdqError, QdqImport, is_qdq, refuse_qoperator, strip_qdq

log = logging.getLogger(__name__)

FLOAT_MODEL_FILE = "float_model.onnx"


def load_if_qdq(model_path: Path) -> QdqImport | None:
    """The stripped model and given parameters when ``model_path`` is a QDQ (or QOperator) model."""
    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception:  # noqa: BLE001 - the front end reports unreadable files with its own message
        return None
    refuse_qoperator(model, str(model_path))
    if not is_qdq(model):
        return None
    return strip_qdq(model, str(model_path))


def activation_bits(given: dict[str, GivenActivation], path: str) -> int:
    """8 or 16: the one activation width of the model (int4 activations run on 8 bits)."""
    widths = {max(g.bits, 8) for g in given.values()}
    if len(widths) > 1:
        raise QdqError(
            f"{path}: activations quantized with mixed widths {sorted(widths)}; Fixpoint plans use one activation width"
        )
    bits = widths.pop() if widths else 8
    if bits not in (8, 16):
        raise QdqError(f"{path}: {bits}-bit activations are not supported (8 or 16)")
    return bits


def pinned_entry(g: GivenActivation, bits: int, shift_only: bool) -> tuple[list[float], float]:
    """[scale, zero point] on the plan's signed ``bits`` integer, and the relative scale error."""
    zp = g.signed_zero_point()
    if bits == 16 and zp != 0:
        raise QdqError(
            f"tensor '{g.name}': 16-bit activations need zero point 0 (the 16-bit kernels take no "
            f"offset), the model gives {g.zero_point} on {'int' if g.signed else 'uint'}16"
        )
    scale = g.scale
    if shift_only:  # the board applies 2**shift only: the nearest power of two
        scale = math.ldexp(1.0, round(math.log2(g.scale)))
    return [scale, zp], abs(scale - g.scale) / g.scale


def apply_encodings(job, model_path: Path, out_dir: Path) -> Path:
    """Pin the encodings file's activations, quantize its parameters as it says; the float model's path.

    The parameters in the float model are replaced by their dequantized integers (what the tool that
    wrote the encodings simulates), so lowering finds the given integers in them.
    """
    from onnx import numpy_helper

    from fixpoint.interop.encodings import given_from_encodings, read_encodings
    from fixpoint.interop.qdq_import import _dequantize

    model = onnx.load(str(model_path))
    activations, params = given_from_encodings(read_encodings(job.encodings), model, job.encodings, str(job.model_path))
    for tensor in model.graph.initializer:
        if tensor.name in params:
            tensor.CopyFrom(numpy_helper.from_array(_dequantize(params[tensor.name]), tensor.name))
    by_node: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            if name in params:
                by_node.setdefault(node.name or node.output[0], []).append(params[name])
    return apply_qdq(job, QdqImport(model, activations, by_node), out_dir)


def apply_qdq(job, imported: QdqImport, out_dir: Path) -> Path:
    """Write the float model, pin the given activations, hand the integers to lowering; the float path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    float_path = out_dir / FLOAT_MODEL_FILE
    atomic_write_bytes(float_path, imported.model.SerializeToString())
    bits = activation_bits(imported.activations, str(job.model_path))
    job.calibration.bits = bits
    if bits == 16 and job.calibration.scheme is None:
        job.calibration.scheme = "symmetric"
    shift_only = job.profile.rounding == "shift_only"
    pinned, errors = {}, {}
    for name, g in imported.activations.items():
        pinned[name], errors[name] = pinned_entry(g, bits, shift_only)
    job.calibration.pinned = {**pinned, **job.calibration.pinned}
    job.lowering.given_params = {**job.lowering.given_params, **imported.params}
    job.given = {
        **job.given,
        **{
            name: {
                "scale": g.scale,
                "zero_point": g.zero_point,
                "type": f"{'int' if g.signed else 'uint'}{g.bits}",
                "scale_error": errors[name],
            }
            for name, g in imported.activations.items()
        },
    }
    for g in imported.activations.values():
        if g.bits == 4:
            log.warning(
                "tensor '%s': 4-bit activation runs on 8 bits (same scale; values beyond the 4-bit "
                "range are not clipped)",
                g.name,
            )
    return float_path
