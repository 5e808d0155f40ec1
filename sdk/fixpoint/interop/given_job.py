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
from collections import Counter
from dataclasses import replace
from pathlib import Path

import onnx

from fixpoint.fileio import atomic_write_bytes
from fixpoint.lower.options import LowerOptions
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


def width(g: GivenActivation) -> int:
    """The plan width of a given activation (int4 activations run on 8 bits)."""
    return max(g.bits, 8)


def activation_bits(imported: QdqImport, path: str) -> int:
    """8 or 16: the plan's base width, that of the graph inputs (a plan's inputs and outputs keep it; the
    tensors of the other width become per-layer widths), else the width most tensors have."""
    given = [*imported.activations.values(), *imported.conversions.values()]
    bad = sorted({width(g) for g in given} - {8, 16})
    if bad:
        raise QdqError(f"{path}: {bad[0]}-bit activations are not supported (8 or 16)")
    inputs = [i.name for i in imported.model.graph.input if i.name in imported.activations]
    at_inputs = {width(imported.activations[n]) for n in inputs}
    if len(at_inputs) > 1:
        first = next(n for n in inputs if width(imported.activations[n]) != width(imported.activations[inputs[0]]))
        raise QdqError(
            f"tensor '{first}': graph inputs quantized with mixed widths {sorted(at_inputs)}; a plan's inputs "
            f"share one width (quantize them alike)"
        )
    if at_inputs:
        return at_inputs.pop()
    counts = Counter(width(g) for g in imported.activations.values())
    return 16 if counts[16] > counts[8] else 8


def _glob_literal(name: str) -> str:
    """``name`` as an fnmatch pattern matching only itself (override keys are globs)."""
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def width_overrides(imported: QdqImport, bits: int, float_path: Path) -> dict[str, int]:
    """Per-layer widths of a QDQ model with tensors of both widths: the layer making a tensor whose own
    (first) quantization is not the base width runs at that width. The layer is that of the float graph with
    the tensor as output, else the one the tensor's ONNX producer was folded into (an LSTM's ``Y_h`` behind
    a folded Reshape) when that layer's output is not given itself (then the tensor is an intermediate the
    layer fuses away, e.g. onnxruntime's quantized MatMul output before the bias Add)."""
    other = {name: width(g) for name, g in imported.activations.items() if width(g) != bits}
    if not other and not imported.conversions:
        return {}
    from fixpoint.pipeline import load_graph  # noqa: PLC0415 - the pipeline imports this module

    nodes = load_graph(float_path).nodes
    by_output = {o: node for node in nodes for o in node.outputs}
    by_onnx = {name: node for node in nodes for name in (node.name, *node.fused)}
    producer = {o: n.name or n.output[0] for n in imported.model.graph.node for o in n.output}
    widths: dict[str, int] = {}
    for name, w in other.items():
        if name in by_output:
            widths[_glob_literal(name)] = w
            continue
        node = by_onnx.get(producer.get(name, ""))
        if node is None:
            log.warning("tensor '%s' (given at %d bits): no layer of the plan makes it; its width is not used", name, w)
        elif not any(o in imported.activations for o in node.outputs):
            widths[_glob_literal(node.name)] = w
        else:
            log.info("tensor '%s' (given at %d bits): fused into layer '%s'; not a layer width", name, w, node.name)
    _warn_on_other_reads(imported, bits, widths, by_onnx)
    return widths


def _warn_on_other_reads(imported: QdqImport, bits: int, widths: dict[str, int], by_onnx: dict) -> None:
    """A layer reads and writes at one width: where the model has a node read a tensor at another width than
    the node's output (its layer's width), the plan reads it at the layer's width instead (a requantized copy
    with a calibrated scale, or the tensor itself); say so, naming both."""
    options = LowerOptions(activation_bits_overrides=widths)
    for tensor, reader, read_bits in imported.reads:
        node = by_onnx.get(reader)
        if node is None or tensor not in node.inputs:
            continue
        runs = options.activation_bits_for(bits, node.name, *node.outputs)
        if runs != read_bits:
            log.warning(
                "tensor '%s': node '%s' reads it at %d bits, but its layer '%s' runs at %d bits (the width "
                "of its output); the plan reads it at %d bits",
                tensor,
                reader,
                read_bits,
                node.name,
                runs,
                runs,
            )


def _plan_names(imported: QdqImport, base: int) -> list[tuple[str, GivenActivation]]:
    """(plan tensor, given quantization) of every given activation: the tensor at the width its producer
    makes it, ``<name>@int16`` (or ``@int8``) for its copy of the other width; a graph output made at the
    other width is ``<name>@int16`` and its copy the plan output ``name`` (lower/widths.py)."""
    outputs = {o.name for o in imported.model.graph.output}
    pairs = []
    for name, g in imported.activations.items():
        renamed = name in outputs and width(g) != base
        pairs.append((f"{name}@int{width(g)}" if renamed else name, g))
        copy = imported.conversions.get(name)
        if copy is not None:
            pairs.append((name if renamed else f"{name}@int{width(copy)}", copy))
    return pairs


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
    encodings = read_encodings(job.encodings)
    activations, params, conversions = given_from_encodings(encodings, model, job.encodings, str(job.model_path))
    for tensor in model.graph.initializer:
        if tensor.name in params:
            tensor.CopyFrom(numpy_helper.from_array(_dequantize(params[tensor.name]), tensor.name))
    by_node: dict[str, list] = {}
    for node in model.graph.node:
        for name in node.input:
            if name in params:
                by_node.setdefault(node.name or node.output[0], []).append(params[name])
    # a mixed-width plan's CTable: its copies of the other width give the per-layer widths, as a QDQ model's
    # second Q/DQ pairs do
    return apply_qdq(job, QdqImport(model, activations, by_node, conversions=conversions), out_dir)


def apply_qdq(job, imported: QdqImport, out_dir: Path) -> Path:
    """Write the float model, pin the given activations (per width), hand the integers to lowering and the
    per-layer widths of a model with tensors of both widths; the float path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    float_path = out_dir / FLOAT_MODEL_FILE
    atomic_write_bytes(float_path, imported.model.SerializeToString())
    bits = activation_bits(imported, str(job.model_path))
    job.calibration.bits = bits
    if bits == 16 and job.calibration.scheme is None:
        job.calibration.scheme = "symmetric"
    shift_only = job.profile.rounding == "shift_only"
    pinned: dict[int, dict[str, list[float]]] = {8: {}, 16: {}}
    given = {}
    for plan_name, g in _plan_names(imported, bits):
        pinned[width(g)][g.name], error = pinned_entry(g, width(g), shift_only)
        given[plan_name] = {
            "scale": g.scale,
            "zero_point": g.zero_point,
            "type": f"{'int' if g.signed else 'uint'}{g.bits}",
            "scale_error": error,
        }
    job.calibration.pinned = {**pinned[bits], **job.calibration.pinned}
    other = pinned[24 - bits]
    job.calibration.pinned_other_width = {**other, **job.calibration.pinned_other_width}
    widths = width_overrides(imported, bits, float_path)
    if widths:
        # the user's overrides come first (first match wins)
        job.lowering = replace(
            job.lowering, activation_bits_overrides={**job.lowering.activation_bits_overrides, **widths}
        )
        log.info("%s: %d tensor(s) given at %d bits in a %d-bit plan", job.model_path, len(widths), 24 - bits, bits)
    job.lowering = replace(job.lowering, given_params={**job.lowering.given_params, **imported.params})
    job.given = {**job.given, **given}
    for g in imported.activations.values():
        if g.bits == 4:
            log.warning(
                "tensor '%s': 4-bit activation runs on 8 bits (same scale; values beyond the 4-bit "
                "range are not clipped)",
                g.name,
            )
    return float_path
