"""QDQ in: an ONNX model with QuantizeLinear/DequantizeLinear -> its float model + the given quantization.

A QDQ model says how every quantized tensor is stored: an activation ``x`` passes through
``DequantizeLinear(QuantizeLinear(x, s, zp), s, zp)``, a parameter is stored as integers
behind ``DequantizeLinear(q, s, zp[, axis])``. :func:`strip_qdq` removes those pairs, leaving
the float graph the rest of Fixpoint reads, and keeps the given parameters:

* ``activations``: tensor name -> :class:`GivenActivation` (scale, zero point, ONNX type),
* ``params``: consuming node name -> the parameters it reads (:class:`GivenParam`, with the
  stored integers), so lowering can take the model's integers instead of rounding again.

QOperator models (QLinearConv, ConvInteger, ...) are refused with a hint to export QDQ.
See docs/interop.md.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

from fixpoint.ir import ModelError

log = logging.getLogger(__name__)

QDQ_OPS = ("QuantizeLinear", "DequantizeLinear")
QOPERATOR_OPS = (
    "QLinearConv",
    "QLinearMatMul",
    "ConvInteger",
    "MatMulInteger",
    "QLinearAdd",
    "QLinearMul",
    "QGemm",
    "QLinearGlobalAveragePool",
    "QLinearAveragePool",
    "QLinearConcat",
    "QLinearSigmoid",
    "QLinearLeakyRelu",
    "QLinearSoftmax",
    "QLinearReduceMean",
    "DynamicQuantizeLinear",
)
# ONNX integer element types QuantizeLinear/DequantizeLinear carry: (bits, signed)
QTYPES: dict[int, tuple[int, bool]] = {
    onnx.TensorProto.INT8: (8, True),
    onnx.TensorProto.UINT8: (8, False),
    onnx.TensorProto.INT16: (16, True),
    onnx.TensorProto.UINT16: (16, False),
    onnx.TensorProto.INT4: (4, True),
    onnx.TensorProto.UINT4: (4, False),
    onnx.TensorProto.INT32: (32, True),
}


# Producers after which onnxruntime's QDQ quantizer drops a Relu/Clip when the output's quantized range
# starts at 0 (the clamp to the range does the Relu's work). The float model gets the Relu back.
RELU_DROPPED_AFTER = ("Conv", "Gemm", "MatMul", "Add", "ConvTranspose")


class QdqError(ModelError):
    """A QDQ model whose quantization Fixpoint cannot take as given."""


@dataclass
class GivenActivation:
    """real = scale * (q - zero_point), q of ONNX type ``bits``/``signed``."""

    name: str
    scale: float
    zero_point: int
    bits: int
    signed: bool

    def signed_zero_point(self) -> int:
        """The zero point on the signed integer of the same width (uint8 zp z -> int8 zp z - 128)."""
        return self.zero_point - (0 if self.signed else 1 << (self.bits - 1))


@dataclass
class GivenParam:
    """A constant stored as integers: real = scale[c] * (values - zero_point[c]) along ``axis``."""

    name: str  # the float tensor name in the stripped model
    values: np.ndarray  # the stored integers (int64 copy, ONNX layout)
    scale: np.ndarray  # float64 [1] or [C]
    zero_point: np.ndarray  # int64 [1] or [C]
    axis: int
    bits: int
    signed: bool


@dataclass
class QdqImport:
    model: onnx.ModelProto  # the float model
    activations: dict[str, GivenActivation] = field(default_factory=dict)
    params: dict[str, list[GivenParam]] = field(default_factory=dict)  # consuming node -> its params
    notes: list[str] = field(default_factory=list)
    # tensor -> its second quantization, of another width: ``DQ(Q(x)) -> Q' -> DQ'`` (a requantized copy,
    # read by the nodes behind DQ'; onnxruntime's TensorQuantOverrides ``convert``)
    conversions: dict[str, GivenActivation] = field(default_factory=dict)
    # (tensor, reading node, bits): which of a tensor's pairs each node reads (mixed-width models)
    reads: list[tuple[str, str, int]] = field(default_factory=list)


def is_qdq(model: onnx.ModelProto) -> bool:
    return any(n.op_type in QDQ_OPS for n in model.graph.node)


def refuse_qoperator(model: onnx.ModelProto, path: str) -> None:
    """One line for a QOperator-format model: Fixpoint reads the QDQ form of the same quantization."""
    for node in model.graph.node:
        if node.op_type in QOPERATOR_OPS:
            raise QdqError(
                f"{path}: node '{node.name or node.output[0]}' is {node.op_type} (QOperator format), "
                f"which Fixpoint does not read; export the model in QDQ format instead (onnxruntime: "
                f"quantize_static(..., quant_format=QuantFormat.QDQ))"
            )


class _Constants:
    """Initializers, Constant-node outputs and Identity copies of either, by name, as numpy arrays.

    torch.onnx stores equal scales/zero points once and feeds the other Q/DQ nodes through Identity
    nodes, so a copy of a constant is a constant (nodes are in topological order)."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.arrays = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
        self.types = {t.name: t.data_type for t in model.graph.initializer}
        for node in model.graph.node:
            if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
                tensor = node.attribute[0].t
                self.arrays[node.output[0]] = numpy_helper.to_array(tensor)
                self.types[node.output[0]] = tensor.data_type
            elif node.op_type == "Identity" and node.input[0] in self.arrays:
                self.arrays[node.output[0]] = self.arrays[node.input[0]]
                self.types[node.output[0]] = self.types[node.input[0]]

    def get(self, name: str) -> np.ndarray | None:
        return self.arrays.get(name)


def _check_scale(scale: np.ndarray, tensor: str) -> np.ndarray:
    scale = np.asarray(scale, dtype=np.float64).reshape(-1)
    bad = ~(np.isfinite(scale) & (scale > 0))
    if scale.size == 0 or bad.any():
        value = scale[bad][0] if bad.any() else "empty"
        raise QdqError(f"tensor '{tensor}': quantization scale {value} is not a positive finite number")
    return scale


def _qtype(node: onnx.NodeProto, consts: _Constants, tensor: str) -> tuple[int, bool]:
    """(bits, signed) of a Q/DQ pair: the stored integers' type, else the zero point's, else uint8 (ONNX)."""
    for name in (node.input[0], node.input[2] if len(node.input) > 2 else ""):
        if name and name in consts.types and consts.types[name] in QTYPES:
            return QTYPES[consts.types[name]]
    for attr in node.attribute:
        if attr.name == "output_dtype" and attr.i in QTYPES:
            return QTYPES[attr.i]
    return 8, False  # ONNX's default: uint8


def _zero_point(node: onnx.NodeProto, consts: _Constants, bits: int, signed: bool, tensor: str) -> np.ndarray:
    if len(node.input) < 3 or not node.input[2]:
        return np.zeros(1, np.int64)
    zp = consts.get(node.input[2])
    if zp is None:
        raise QdqError(f"tensor '{tensor}': zero point '{node.input[2]}' is not a constant")
    zp = np.asarray(zp).astype(np.int64).reshape(-1)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if np.any((zp < lo) | (zp > hi)):
        raise QdqError(
            f"tensor '{tensor}': zero point {int(zp[(zp < lo) | (zp > hi)][0])} is outside "
            f"its type's range [{lo}, {hi}]"
        )
    return zp


def _scale(node: onnx.NodeProto, consts: _Constants, tensor: str) -> np.ndarray:
    scale = consts.get(node.input[1])
    if scale is None:
        raise QdqError(
            f"tensor '{tensor}': scale '{node.input[1]}' is not a constant (dynamic quantization is not supported)"
        )
    return _check_scale(scale, tensor)


def _axis(node: onnx.NodeProto) -> int:
    return next((int(a.i) for a in node.attribute if a.name == "axis"), 1)


def _expand(v: np.ndarray, ndim: int, axis: int) -> np.ndarray:
    if v.size == 1 or ndim == 0:
        return v.reshape([1] * max(ndim, 1)) if ndim else v.reshape(())
    shape = [1] * ndim
    shape[axis % ndim] = -1
    return v.reshape(shape)


def _param(
    name: str, q: np.ndarray, scale: np.ndarray, zp: np.ndarray, axis: int, bits: int, signed: bool
) -> GivenParam:
    ndim = q.ndim
    if scale.size > 1 and (ndim == 0 or q.shape[axis % ndim] != scale.size):
        raise QdqError(
            f"tensor '{name}': {scale.size} per-channel scales do not match axis {axis} of shape {list(q.shape)}"
        )
    half = 1 << (bits - 1)
    if not signed and np.all(zp == half):  # unsigned and centred (AIMET symmetric): the signed type, zp 0
        return GivenParam(name, q.astype(np.int64) - half, scale, np.zeros_like(zp), axis % max(ndim, 1), bits, True)
    return GivenParam(name, q.astype(np.int64), scale, zp, axis % max(ndim, 1), bits, signed)


def _dequantize(p: GivenParam) -> np.ndarray:
    """What DequantizeLinear computes, in float32 like onnxruntime."""
    nd = p.values.ndim
    real = (p.values - _expand(p.zero_point, nd, p.axis)).astype(np.float32) * _expand(
        p.scale.astype(np.float32), nd, p.axis
    )
    return real.astype(np.float32)


def _quantize(x: np.ndarray, scale: np.ndarray, zp: np.ndarray, axis: int, bits: int, signed: bool) -> np.ndarray:
    """QuantizeLinear of a constant (PyTorch exports Q(float weight)): round half to even, saturate."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    nd = x.ndim
    q = np.rint(x.astype(np.float32) / _expand(scale.astype(np.float32), nd, axis)) + _expand(zp, nd, axis)
    return np.clip(q, lo, hi).astype(np.int64)


class _Stripper:
    """One pass over the graph: parameters first, then activation Q -> DQ pairs."""

    def __init__(self, model: onnx.ModelProto) -> None:
        self.model = model
        self.consts = _Constants(model)
        self.rename: dict[str, str] = {}  # DQ output -> the float tensor it stands for
        self.new_params: dict[str, GivenParam] = {}
        self.activations: dict[str, GivenActivation] = {}
        self.conversions: dict[str, GivenActivation] = {}
        self.dq_bits: dict[str, int] = {}  # activation DQ output -> the width its readers read
        self.reads: list[tuple[str, str, int]] = []
        self.removed: set[int] = set()

    def run(self) -> QdqImport:
        nodes = list(self.model.graph.node)
        by_output = {o: i for i, n in enumerate(nodes) for o in n.output}
        for i, node in enumerate(nodes):
            if node.op_type == "DequantizeLinear":
                self._dequantize_node(i, node, nodes, by_output)
        self._apply()
        params = self._params_by_consumer()
        return QdqImport(self.model, self.activations, params, conversions=self.conversions, reads=self.reads)

    def _dequantize_node(self, i: int, node: onnx.NodeProto, nodes, by_output) -> None:
        src = node.input[0]
        out = node.output[0]
        bits, signed = _qtype(node, self.consts, out)
        scale, zp = _scale(node, self.consts, out), _zero_point(node, self.consts, bits, signed, out)
        if src in self.consts.arrays:  # integers stored in the model
            self.new_params[out] = _param(
                out, np.asarray(self.consts.arrays[src]), scale, zp, _axis(node), bits, signed
            )
            self.removed.add(i)
            return
        producer = nodes[by_output[src]] if src in by_output else None
        if producer is None or producer.op_type != "QuantizeLinear":
            raise QdqError(
                f"tensor '{src}': DequantizeLinear input is neither stored integers nor the output of a QuantizeLinear"
            )
        x = producer.input[0]
        pbits, psigned = _qtype(producer, self.consts, x)
        pscale = _scale(producer, self.consts, x)
        pzp = _zero_point(producer, self.consts, pbits, psigned, x)
        if (pbits, psigned) != (bits, signed) or not np.array_equal(pscale, scale) or not np.array_equal(pzp, zp):
            raise QdqError(
                f"tensor '{x}': inconsistent quantization, QuantizeLinear scale {pscale.tolist()} "
                f"zero point {pzp.tolist()} but DequantizeLinear scale {scale.tolist()} "
                f"zero point {zp.tolist()}"
            )
        self.removed.update((i, by_output[src]))
        if x in self.consts.arrays:  # Q(float constant) -> DQ: a parameter
            q = _quantize(np.asarray(self.consts.arrays[x]), scale, zp, _axis(producer), bits, signed)
            self.new_params[out] = _param(out, q, scale, zp, _axis(producer), bits, signed)
            return
        if scale.size != 1:
            raise QdqError(
                f"tensor '{x}': per-channel activation quantization ({scale.size} scales) is not "
                f"supported; activations take one scale per tensor"
            )
        if x in self.rename:  # Q' -> DQ' behind an activation's DQ: a copy of another width
            self._add_conversion(
                self.rename[x], GivenActivation(self.rename[x], float(scale[0]), int(zp[0]), bits, signed)
            )
            self.rename[out] = self.rename[x]
            self.dq_bits[out] = max(bits, 8)
            return
        self._add_activation(x, GivenActivation(x, float(scale[0]), int(zp[0]), bits, signed))
        self.rename[out] = x
        self.dq_bits[out] = max(bits, 8)

    def _add_conversion(self, name: str, given: GivenActivation) -> None:
        first, old = self.activations[name], self.conversions.get(name)
        if max(given.bits, 8) == max(first.bits, 8):
            raise QdqError(
                f"tensor '{name}': quantized twice at {max(given.bits, 8)} bits (scale {first.scale} and "
                f"{given.scale}); a second QuantizeLinear/DequantizeLinear must change the width"
            )
        if old is not None and not _same_quantization(old, given):
            raise QdqError(
                f"tensor '{name}': inconsistent scales of its {max(given.bits, 8)}-bit copy, scale {old.scale} "
                f"zero point {old.zero_point} and scale {given.scale} zero point {given.zero_point}"
            )
        self.conversions[name] = given

    def _add_activation(self, name: str, given: GivenActivation) -> None:
        old = self.activations.get(name)
        if old is not None and not _same_quantization(old, given):
            raise QdqError(
                f"tensor '{name}': inconsistent scales, quantized as scale {old.scale} zero point "
                f"{old.zero_point} and as scale {given.scale} zero point {given.zero_point}"
            )
        self.activations[name] = given

    def _apply(self) -> None:
        graph = self.model.graph
        outputs = {o.name for o in graph.output}
        # a graph output produced by DequantizeLinear keeps its name: the float tensor takes it
        for dq_out, x in list(self.rename.items()):
            if dq_out in outputs:
                self._rename_everywhere(x, dq_out)
                self.activations[dq_out] = self.activations.pop(x)
                self.activations[dq_out].name = dq_out
                if x in self.conversions:
                    self.conversions[dq_out] = self.conversions.pop(x)
                    self.conversions[dq_out].name = dq_out
                for k, v in self.rename.items():
                    if v == x:
                        self.rename[k] = dq_out
        kept = [n for i, n in enumerate(graph.node) if i not in self.removed]
        for node in kept:
            for j, name in enumerate(node.input):
                if name in self.rename:
                    node.input[j] = self.rename[name]
                    self.reads.append((self.rename[name], node.name or node.output[0], self.dq_bits[name]))
        del graph.node[:]
        graph.node.extend(kept)
        for name, p in self.new_params.items():
            graph.initializer.append(numpy_helper.from_array(_dequantize(p), name))
        _drop_unused_initializers(self.model)
        self._restore_relus()

    def _restore_relus(self) -> None:
        """A Relu where the given range is [0, max] right after a producer that had one dropped."""
        graph = self.model.graph
        producers = {o: n for n in graph.node for o in n.output}
        added = []
        for name, g in self.activations.items():
            node = producers.get(name)
            qmin = -(1 << (g.bits - 1))
            if node is None or node.op_type not in RELU_DROPPED_AFTER or g.signed_zero_point() != qmin:
                continue
            inner = f"{name}__pre_relu"
            node.output[list(node.output).index(name)] = inner
            added.append((node, onnx.helper.make_node("Relu", [inner], [name], name=f"{node.name or name}/relu")))
        for producer, relu in added:
            position = list(graph.node).index(producer) + 1
            graph.node.insert(position, relu)

    def _rename_everywhere(self, old: str, new: str) -> None:
        for node in self.model.graph.node:
            for j, name in enumerate(node.output):
                if name == old:
                    node.output[j] = new
            for j, name in enumerate(node.input):
                if name == old:
                    node.input[j] = new

    def _params_by_consumer(self) -> dict[str, list[GivenParam]]:
        result: dict[str, list[GivenParam]] = {}
        for node in self.model.graph.node:
            for name in node.input:
                if name in self.new_params:
                    result.setdefault(node.name or node.output[0], []).append(self.new_params[name])
        return result


def _same_quantization(a: GivenActivation, b: GivenActivation) -> bool:
    """Two Q/DQ pairs of one tensor that store it the same way (scale, zero point, integer type)."""
    return (a.scale, a.zero_point, a.bits, a.signed) == (b.scale, b.zero_point, b.bits, b.signed)


def _drop_unused_initializers(model: onnx.ModelProto) -> None:
    used = {i for n in model.graph.node for i in n.input} | {o.name for o in model.graph.output}
    kept = [t for t in model.graph.initializer if t.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    # Constant nodes that only fed Q/DQ scales and zero points
    alive = [n for n in model.graph.node if n.op_type != "Constant" or n.output[0] in used]
    del model.graph.node[:]
    model.graph.node.extend(alive)


def _use_exact_scales(result: QdqImport, model: onnx.ModelProto) -> None:
    """Scales a Fixpoint export kept in float64 (metadata), where they round to the file's float32 scales."""
    from fixpoint.interop.export import exact_scales

    exact = exact_scales(model)
    for name, g in result.activations.items():
        value = exact.get(name)
        if isinstance(value, float) and np.float32(value) == np.float32(g.scale):
            g.scale = value
    for name, g in result.conversions.items():  # a copy of another width: '<name>@int16' (export.py)
        value = exact.get(f"{name}@int{max(g.bits, 8)}")
        if isinstance(value, float) and np.float32(value) == np.float32(g.scale):
            g.scale = value
    for params in result.params.values():
        for p in params:
            value = np.asarray(exact.get(p.name, []), np.float64).reshape(-1)
            if value.size == p.scale.size and np.array_equal(value.astype(np.float32), p.scale.astype(np.float32)):
                p.scale = value


def strip_qdq(model: onnx.ModelProto, path: str = "model") -> QdqImport:
    """The float model of a QDQ ``model`` and every quantization it gives (a copy; ``model`` is kept)."""
    refuse_qoperator(model, path)
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    try:
        result = _Stripper(copy).run()
    except QdqError as exc:
        raise exc.located(path) from None
    _use_exact_scales(result, model)
    left = sorted({n.op_type for n in result.model.graph.node if n.op_type in QDQ_OPS})
    if left:
        raise QdqError(f"{path}: {', '.join(left)} left after removing the QDQ pairs (unsupported pattern)")
    log.info(
        "%s: QDQ model, %d quantized activations and %d quantized parameters taken as given",
        path,
        len(result.activations),
        sum(len(v) for v in result.params.values()),
    )
    return result
