"""``load_model``: an ONNX file -> ONNX-stage :class:`fixpoint.ir.Graph`."""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

import onnx
from google.protobuf.message import DecodeError

from fixpoint.frontend import convert, fuse_gelu, fuse_layer_norm, lift_1d, shape_folding, shapes, support
from fixpoint.frontend.errors import ModelCheckError, ModelFileError, OpsetError, one_line
from fixpoint.frontend.external_data import load_external
from fixpoint.frontend.text_fields import check_text_fields
from fixpoint.ir import Graph, ModelError

log = logging.getLogger(__name__)

MIN_OPSET = 11
MAX_OPSET = onnx.defs.onnx_opset_version()
# Every serialized ModelProto starts with field 1 (ir_version, varint): tag byte 0x08.
_ONNX_FIRST_BYTE = 0x08


def _read_bytes(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not data:
        raise ModelFileError(f"{path}: empty file, not an ONNX model")
    return data


def _looks_like_onnx(data: bytes) -> bool:
    """True when the bytes start like a ModelProto (ir_version field, small version)."""
    return len(data) >= 2 and data[0] == _ONNX_FIRST_BYTE and 1 <= data[1] <= 32


def _parse(data: bytes, path: Path) -> onnx.ModelProto:
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError):
        if _looks_like_onnx(data):
            raise ModelFileError(
                f"{path}: truncated or corrupt ONNX file ({len(data)} bytes could not be parsed)"
            ) from None
        raise ModelFileError(f"{path}: not an ONNX file") from None
    if not model.HasField("graph") or model.ir_version == 0:
        raise ModelFileError(f"{path}: not an ONNX model (no graph or IR version)")
    return model


def _default_opset(model: onnx.ModelProto, path: Path) -> int:
    versions = [op.version for op in model.opset_import if op.domain in convert.DEFAULT_DOMAINS]
    if not versions:
        raise OpsetError(f"{path}: no default-domain (ai.onnx) opset import")
    opset = int(versions[0])
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise OpsetError(
            f"{path}: unsupported opset {opset} (supported {MIN_OPSET}..{MAX_OPSET}; "
            "convert older models with onnx.version_converter)"
        )
    return opset


def _checker_message(exc: Exception) -> str:
    """The checker's text without its multi-line context dump, which repeats the node spec."""
    text = str(exc).split("==> Context:")[0]
    context = str(exc).split("==> Context:")[1] if "==> Context:" in str(exc) else ""
    name = context.split("Name:")[1].split("OpType")[0].strip() if "Name:" in context else ""
    message = one_line(text) or type(exc).__name__
    return f"{message} (node {name})" if name and name not in message else message


def _check(model: onnx.ModelProto, path: Path) -> None:
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError, UnicodeError) as exc:
        raise ModelCheckError(f"{path}: invalid ONNX model: {_checker_message(exc)[:400]}") from None


def _graph_with_static_shapes(model: onnx.ModelProto, opset: int) -> tuple[Graph, set[str]]:
    """Fix the batch, infer shapes (folding shape arithmetic if needed), build the graph."""
    shapes.check_element_types(model)
    fixed = shapes.fix_batch(model)
    inferred = shapes.infer(fixed)
    shape_map, dtypes = shapes.tensor_shapes(inferred), shapes.tensor_dtypes(inferred)
    if shapes.unresolved_outputs(inferred, shape_map):
        folded = shape_folding.fold_shape_subgraphs(fixed, opset)
        shape_map = {**shape_map, **{k: v for k, v in shapes.tensor_shapes(folded).items() if v}}
        dtypes = {**shapes.tensor_dtypes(folded), **dtypes}
    return convert.to_graph(inferred, shape_map, dtypes, opset)


def load_model(path: str | os.PathLike) -> Graph:
    """Load, check and shape-infer an ONNX file into an ONNX-stage graph.

    Raises a :class:`fixpoint.ir.ModelError` subclass with a one-line message for
    unreadable / non-ONNX / truncated files, unsupported opsets, invalid models,
    dynamic shapes other than the batch, and unsupported ops (all listed at once).
    Every message names the file, so it stays clear wherever it is printed.
    """
    path = Path(path)
    try:
        return _load(path)
    except ModelError as exc:
        raise exc.located(str(path)) from None


def _load(path: Path) -> Graph:
    data = _read_bytes(path)
    model = _parse(data, path)
    check_text_fields(model, path)
    load_external(model, path)
    opset = _default_opset(model, path)
    _check(model, path)
    graph, unknown = _graph_with_static_shapes(model, opset)
    graph.source_path = str(path)
    graph.source_sha256 = hashlib.sha256(data).hexdigest()
    fuse_layer_norm.run(graph)  # the decomposed LayerNormalization exporters emit, as one node
    fuse_gelu.run(graph)  # the decomposed GELU (erf and tanh forms), as one Gelu
    lift_1d.run(graph)  # (N, C, L) -> (N, C, 1, L) before the checks, which know 2-D ops
    support.validate(graph, unknown)
    # debug, not info: a model the normalizer rejects next must still give one stderr line
    log.debug("loaded %s: opset %d, %d nodes, %d values", path, opset, len(graph.nodes), len(graph.values))
    return graph
