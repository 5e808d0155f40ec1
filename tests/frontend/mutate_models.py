"""A deterministic corpus of broken ONNX models derived from the example models.

``corpus(seed)`` lists :class:`Mutation` entries (cheap: no model is built);
``Mutation.write(directory)`` builds one mutated model file (and any external
data file it points at) from ``examples/models/<example>/model.onnx``. The same
seed always gives the same corpus and the same bytes, so a failing entry can be
rebuilt from its id alone::

    python tests/frontend/mutate_models.py kws-attr_group-003 /tmp/m

Every entry is made to be rejected (``must_fail``) except random byte flips,
which may happen to leave a valid model, and a few controls that are valid on
purpose (hostile but legal names, valid external data).
"""

from __future__ import annotations

import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "models"
MODELS = ("mlp", "kws", "dwsep", "cnn_bn_res")
DEFAULT_SEED = 20240611
BIG = 2**40

# Names an attacker or a broken exporter may produce; each must print as one safe line.
HOSTILE_NAMES = (
    "",
    "n" * 5000,
    "line1\nline2",
    "\x1b[2J\x1b[31mred\x1b[0m",
    "tab\tcr\r",
    "../../../etc/passwd",
    "C:\\Windows\\evil",
    "nul\x00inside",
    "sep\u2028par\u2029",
    "\u202egnp.exe",
    "\x85next",
    "%s%n{0}'\"",
)


@dataclass
class Draw:
    """What a mutator may use: a random stream, the folder for side files, and a case number.

    ``case`` walks through a kind's variants across the entries of a kind (entry
    index x example), so every variant is covered; ``rng`` picks nodes and values.
    """

    rng: np.random.Generator
    directory: Path
    case: int

    def pick(self, items: list) -> object:
        return items[int(self.rng.integers(len(items)))]

    def variant(self, count: int) -> int:
        return self.case % count


Mutator = Callable[[onnx.ModelProto, Draw], "onnx.ModelProto | bytes"]


@dataclass(frozen=True)
class Mutation:
    """One corpus entry: ``kind`` applied to ``example`` with its own random stream."""

    example: str
    kind: str
    index: int
    seed: int
    must_fail: bool = True

    @property
    def ident(self) -> str:
        return f"{self.example}-{self.kind}-{self.index:03d}"

    @property
    def data(self) -> Path:
        return EXAMPLES / self.example / "calib.npz"

    def write(self, directory: Path) -> Path:
        """Write the mutated model (and side files) into ``directory``; return the model path."""
        directory.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([self.seed, zlib.crc32(self.ident.encode())])
        draw = Draw(rng, directory, self.index * len(MODELS) + MODELS.index(self.example))
        model = onnx.load(str(EXAMPLES / self.example / "model.onnx"))
        result = MUTATORS[self.kind](model, draw)
        path = directory / "model.onnx"
        path.write_bytes(result if isinstance(result, bytes) else result.SerializeToString())
        return path


# --------------------------------------------------------------------------- helpers


def _nodes(model: onnx.ModelProto, *ops: str) -> list[onnx.NodeProto]:
    return [n for n in model.graph.node if not ops or n.op_type in ops]


def _set_attr(node: onnx.NodeProto, name: str, value: object) -> None:
    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(kept + [helper.make_attribute(name, value)])


def _initializer(model: onnx.ModelProto, draw: Draw, min_rank: int = 1) -> onnx.TensorProto:
    return draw.pick([t for t in model.graph.initializer if len(t.dims) >= min_rank])


def _replace(init: onnx.TensorProto, data: np.ndarray) -> None:
    init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(data), init.name))


def _raw_spans(data: bytes, model: onnx.ModelProto) -> list[tuple[int, int]]:
    """Byte ranges of the initializers' raw data (weights) inside the serialized model."""
    spans = []
    for init in model.graph.initializer:
        start = data.find(init.raw_data) if len(init.raw_data) > 8 else -1
        if start >= 0:
            spans.append((start, start + len(init.raw_data)))
    return spans


# --------------------------------------------------------------------------- byte level


def truncate(model: onnx.ModelProto, draw: Draw) -> bytes:
    """Cut at an offset spread over the whole file (header, graph, weights, opset)."""
    data = model.SerializeToString()
    slot = draw.variant(16)
    return data[: int(len(data) * (slot + draw.rng.random()) / 16)]


def flip_structure(model: onnx.ModelProto, draw: Draw) -> bytes:
    """Flip 1-4 bytes outside the weights: tags, lengths, names, attributes, dims."""
    data = bytearray(model.SerializeToString())
    outside = np.ones(len(data), bool)
    for start, end in _raw_spans(bytes(data), model):
        outside[start:end] = False
    count = int(draw.rng.integers(1, 5))
    for offset in draw.rng.choice(np.flatnonzero(outside), size=count, replace=False):
        data[int(offset)] ^= int(draw.rng.integers(1, 256))
    return bytes(data)


def flip_anywhere(model: onnx.ModelProto, draw: Draw) -> bytes:
    """Flip single bits anywhere: mostly in weights, where the model may well stay valid."""
    data = bytearray(model.SerializeToString())
    for offset in draw.rng.choice(len(data), size=int(draw.rng.integers(1, 9)), replace=False):
        data[int(offset)] ^= 1 << int(draw.rng.integers(8))
    return bytes(data)


def invalid_utf8_name(model: onnx.ModelProto, draw: Draw) -> bytes:
    marker = b"QZQZQZQZ"
    draw.pick(_nodes(model)).name = marker.decode()
    return model.SerializeToString().replace(marker, b"\xff\xfe\xc3(\xa0\xa1\xe2\x28")


# --------------------------------------------------------------------------- attributes

GEOMETRY_VALUES = {
    "group": [0, -1, BIG, 3, -4],
    "kernel_shape": [[0, 0], [-1, 3], [BIG, 3], [3], [3, 3, 3], [64, 64]],
    "strides": [[0, 1], [-2, -2], [BIG, 1], [1], [1, 1, 1]],
    "pads": [[-1, -1, -1, -1], [BIG] * 4, [1, 1], [0, 0, -5, 0], [100, 0, 0, 0]],
    "dilations": [[0, 0], [-1, 1], [1000, 1000], [BIG, 1], [1]],
}


def _has_window(node: onnx.NodeProto) -> bool:
    """A node with a kernel wider than 1 (dilating a 1x1 kernel changes nothing)."""
    kernel = next((list(a.ints) for a in node.attribute if a.name == "kernel_shape"), [])
    return any(k > 1 for k in kernel)


def _geometry(attribute: str) -> Mutator:
    def mutate(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
        nodes = (
            _nodes(model, "Conv")
            if attribute == "group"
            else [n for n in _nodes(model, "Conv", "MaxPool", "AveragePool") if _has_window(n)]
        )
        values = GEOMETRY_VALUES[attribute]
        _set_attr(draw.pick(nodes), attribute, values[draw.variant(len(values))])
        return model

    mutate.__doc__ = f"{attribute} zero, negative, huge or of the wrong length"
    return mutate


WRONG_TYPES = [
    ("group", 1.5),
    ("strides", "1,1"),
    ("kernel_shape", [3.0, 3.0]),
    ("transB", "yes"),
    ("alpha", [1, 2]),
    ("dilations", b"\x01"),
]


def attr_wrong_type(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    name, value = WRONG_TYPES[draw.variant(len(WRONG_TYPES))]
    _set_attr(draw.pick(_nodes(model, "Conv", "Gemm")), name, value)
    return model


def attr_axis(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    nodes = _nodes(model, "Softmax", "Flatten", "Concat")
    if nodes:
        _set_attr(draw.pick(nodes), "axis", [7, -9, 99, BIG][draw.variant(4)])
    else:  # mlp: no axis attribute anywhere; a transposed activation instead
        _set_attr(draw.pick(_nodes(model, "Gemm")), "transA", 1)
    return model


BOGUS = [("auto_pad", "BOGUS"), ("auto_pad", ""), ("transA", 3), ("ceil_mode", 5), ("no_such_attribute", 1)]


def attr_bogus(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    name, value = BOGUS[draw.variant(len(BOGUS))]
    _set_attr(draw.pick(_nodes(model, "Conv", "MaxPool", "AveragePool") or _nodes(model, "Gemm")), name, value)
    return model


def bn_channels(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    """BatchNormalization scale / bias / mean / var with the wrong channel count (or rank)."""
    bn = draw.pick(_nodes(model, "BatchNormalization"))
    inits = {t.name: t for t in model.graph.initializer}
    target = inits[bn.input[1 + draw.variant(4)]]
    size = int(target.dims[0])
    bad = [np.ones(size + 1), np.ones(max(size // 2, 1)), np.ones((size, 1)), np.ones(0)]
    _replace(target, draw.pick(bad).astype(np.float32))
    return model


def bn_values(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    """Negative epsilon with zero variance, a negative variance, or a NaN scale."""
    bn = draw.pick(_nodes(model, "BatchNormalization"))
    inits = {t.name: t for t in model.graph.initializer}
    case = draw.variant(3)
    if case == 0:
        _set_attr(bn, "epsilon", -1.0)
        _replace(inits[bn.input[4]], np.zeros(inits[bn.input[4]].dims, np.float32))
        return model
    target = inits[bn.input[4] if case == 1 else bn.input[1]]
    data = numpy_helper.to_array(target).copy()
    data[int(draw.rng.integers(data.size))] = -1.0 if case == 1 else np.nan
    _replace(target, data)
    return model


def nonfinite_weight(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    target = _initializer(model, draw, min_rank=2)
    data = numpy_helper.to_array(target).copy()
    data.flat[int(draw.rng.integers(data.size))] = [np.nan, np.inf, -np.inf][draw.variant(3)]
    _replace(target, data)
    return model


# --------------------------------------------------------------------------- names


def hostile_node_name(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    """A hostile name on a node made unsupported, so that the error has to print the name."""
    node = draw.pick(_nodes(model, "Relu"))
    node.name = HOSTILE_NAMES[1 + draw.variant(len(HOSTILE_NAMES) - 1)]
    node.op_type = "Sin"
    return model


def hostile_dangling_input(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    draw.pick(_nodes(model)).input[0] = HOSTILE_NAMES[1 + draw.variant(len(HOSTILE_NAMES) - 1)]
    return model


def hostile_valid_names(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    """Legal: every node renamed to a hostile name (a control: the model stays valid)."""
    for node in model.graph.node:
        node.name = draw.pick(list(HOSTILE_NAMES))
    return model


def duplicate(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    graph = model.graph
    case = draw.variant(5)
    if case == 0:  # two nodes write the same tensor (not SSA)
        first, second = draw.rng.choice(len(graph.node), size=2, replace=False)
        graph.node[int(second)].output[0] = graph.node[int(first)].output[0]
    elif case == 1:  # an initializer given twice with different shapes
        init = _initializer(model, draw)
        graph.initializer.append(numpy_helper.from_array(np.zeros(3, np.float32), init.name))
    elif case == 2:  # the graph input listed twice
        graph.input.append(graph.input[0])
    elif case == 3:  # a graph output that is an initializer
        graph.output[0].name = graph.initializer[0].name
    else:  # every node named alike: valid ONNX, but onnxruntime refuses it
        for node in graph.node:
            node.name = "same"
    return model


# --------------------------------------------------------------------------- structure


def structure(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    graph = model.graph
    case = draw.variant(7)
    if case == 0:  # dangling input
        draw.pick(_nodes(model)).input[0] = "no_such_tensor"
    elif case == 1:  # cycle: the first node reads the last node's output
        graph.node[0].input[0] = graph.node[-1].output[0]
    elif case == 2:  # node order reversed
        nodes = list(graph.node)[::-1]
        del graph.node[:]
        graph.node.extend(nodes)
    elif case == 3:  # missing initializer
        graph.initializer.remove(_initializer(model, draw))
    elif case == 4:  # no nodes at all
        del graph.node[:]
    elif case == 5:  # no graph output
        del graph.output[:]
    else:  # a graph output naming nothing
        graph.output[0].name = "nowhere"
    return model


def initializer_shape(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    init = _initializer(model, draw)
    data = numpy_helper.to_array(init)
    bad = [
        data.reshape(-1),
        np.concatenate([data, data[:1]]),
        data[..., None] if data.ndim < 4 else data.reshape(data.shape[0], -1),
        np.zeros([0, *data.shape[1:]], data.dtype),
    ][draw.variant(4)]
    _replace(init, bad if bad.shape != data.shape else np.concatenate([data, data[:1]]))
    return model


def initializer_dtype(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    init = _initializer(model, draw)
    case = draw.variant(5)
    if case == 0:  # declared type changed, bytes kept (size mismatch)
        init.data_type = draw.pick([TensorProto.INT64, TensorProto.DOUBLE, TensorProto.INT8])
    elif case == 1:  # no type, an unknown one, or strings
        init.data_type = draw.pick([0, 999, TensorProto.STRING])
    elif case == 2:  # raw data cut short
        init.raw_data = init.raw_data[: len(init.raw_data) // 2]
    else:  # a well-formed int64 / float64 tensor where float32 is expected
        _replace(init, numpy_helper.to_array(init).astype(np.int64 if case == 3 else np.float64))
    return model


def input_dims(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    """Zero, huge or wrong extents declared on the graph input, an extra axis, a wrong type."""
    tensor_type = model.graph.input[0].type.tensor_type
    dims = tensor_type.shape.dim
    case = draw.variant(5)
    if case == 0:
        dims[len(dims) - 1].dim_value = draw.pick([0, 2**31, BIG, 2**62])
    elif case == 1:
        dims[1].dim_value = draw.pick([7, 1000])
    elif case == 2:
        dims.add().dim_value = 3
    elif case == 3:
        dims[0].dim_value = draw.pick([0, BIG])
    else:
        tensor_type.elem_type = draw.pick([TensorProto.INT64, TensorProto.DOUBLE, TensorProto.FLOAT16, 0, 999])
    return model


def opset(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    """Opset import absent, too old / new, in an unknown domain; unknown ops and domains."""
    case = draw.variant(6)
    if case == 0:
        del model.opset_import[:]
    elif case == 1:
        model.opset_import[0].version = draw.pick([1, 9, 10, 99, BIG])
    elif case == 2:
        model.opset_import[0].domain = "com.unknown"
    elif case == 3:
        draw.pick(_nodes(model)).domain = "com.evil"
    elif case == 4:
        model.ir_version = draw.pick([0, 99, 2])
    else:
        draw.pick(_nodes(model)).op_type = "NoSuchOp"
    return model


# --------------------------------------------------------------------------- external data


def _external(init: onnx.TensorProto, location: str, offset: int | None = None, length: int | None = None) -> None:
    init.ClearField("raw_data")
    del init.float_data[:]
    init.data_location = TensorProto.EXTERNAL
    del init.external_data[:]
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        if value is not None:
            entry = init.external_data.add()
            entry.key, entry.value = key, str(value)


def external_data(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    """Side files that are missing, absolute, behind '..', too short, or a folder."""
    init = _initializer(model, draw, min_rank=2)
    size = len(init.raw_data)
    case = draw.variant(9)
    if case in (4, 5, 6):
        (draw.directory / "weights.bin").write_bytes(init.raw_data)
    if case == 7:
        (draw.directory / "sub").mkdir(exist_ok=True)
    location, offset, length = [
        ("missing.bin", None, None),
        ("/etc/passwd", None, None),
        ("../../../../etc/passwd", None, None),
        ("sub/../../outside.bin", None, None),
        ("weights.bin", size * 4, None),
        ("weights.bin", 0, size * 8),
        ("weights.bin", -3, None),
        ("sub", None, None),
        ("", None, None),
    ][case]
    _external(init, location, offset, length)
    return model


def external_symlink(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    """A side file that is a symbolic link out of the model's folder."""
    init = _initializer(model, draw, min_rank=2)
    outside = draw.directory.parent / f"{draw.directory.name}-outside.bin"
    outside.write_bytes(init.raw_data)
    link = draw.directory / "weights.bin"
    link.unlink(missing_ok=True)
    link.symlink_to(outside)
    _external(init, "weights.bin")
    return model


def external_valid(model: onnx.ModelProto, draw: Draw) -> onnx.ModelProto:
    """Legal: one initializer moved to a side file (a control: the model stays valid)."""
    init = _initializer(model, draw, min_rank=2)
    (draw.directory / "weights.bin").write_bytes(b"\0" * 16 + init.raw_data)
    _external(init, "weights.bin", 16, len(init.raw_data))
    return model


# --------------------------------------------------------------------------- corpus

MUTATORS: dict[str, Mutator] = {
    "truncate": truncate,
    "flip_structure": flip_structure,
    "flip_anywhere": flip_anywhere,
    "invalid_utf8_name": invalid_utf8_name,
    **{f"attr_{name}": _geometry(name) for name in GEOMETRY_VALUES},
    "attr_wrong_type": attr_wrong_type,
    "attr_axis": attr_axis,
    "attr_bogus": attr_bogus,
    "bn_channels": bn_channels,
    "bn_values": bn_values,
    "nonfinite_weight": nonfinite_weight,
    "hostile_node_name": hostile_node_name,
    "hostile_dangling_input": hostile_dangling_input,
    "hostile_valid_names": hostile_valid_names,
    "duplicate": duplicate,
    "structure": structure,
    "initializer_shape": initializer_shape,
    "initializer_dtype": initializer_dtype,
    "input_dims": input_dims,
    "opset": opset,
    "external_data": external_data,
    "external_symlink": external_symlink,
    "external_valid": external_valid,
}

CONV_MODELS = ("kws", "dwsep", "cnn_bn_res")
# kind -> (entries per example model, the examples it applies to): about 200 entries, each one
# CLI subprocess in the test (~1.5 s of CPU, mostly importing onnx).
PLAN: dict[str, tuple[int, tuple[str, ...]]] = {
    "truncate": (4, MODELS),
    "flip_structure": (4, MODELS),
    "flip_anywhere": (1, MODELS),
    "invalid_utf8_name": (1, MODELS),
    "attr_group": (2, CONV_MODELS),
    "attr_kernel_shape": (2, CONV_MODELS),
    "attr_strides": (2, CONV_MODELS),
    "attr_pads": (2, CONV_MODELS),
    "attr_dilations": (2, CONV_MODELS),
    "attr_wrong_type": (2, MODELS),
    "attr_axis": (2, MODELS),
    "attr_bogus": (1, MODELS),
    "bn_channels": (2, CONV_MODELS),
    "bn_values": (2, CONV_MODELS),
    "nonfinite_weight": (1, MODELS),
    "hostile_node_name": (3, MODELS),
    "hostile_dangling_input": (2, MODELS),
    "hostile_valid_names": (1, ("mlp",)),
    "duplicate": (2, MODELS),
    "structure": (3, MODELS),
    "initializer_shape": (2, MODELS),
    "initializer_dtype": (2, MODELS),
    "input_dims": (3, MODELS),
    "opset": (3, MODELS),
    "external_data": (3, MODELS),
    "external_symlink": (1, ("kws", "mlp")),
    "external_valid": (1, ("mlp",)),
}
# Kinds whose result may be a valid model: random flips, and the deliberate controls.
MAY_PASS = {"flip_structure", "flip_anywhere", "hostile_valid_names", "external_valid"}


def corpus(seed: int = DEFAULT_SEED) -> list[Mutation]:
    """Every corpus entry, in a fixed order."""
    return [
        Mutation(example, kind, index, seed, must_fail=kind not in MAY_PASS)
        for kind, (count, examples) in PLAN.items()
        for example in examples
        for index in range(count)
    ]


def main(argv: list[str]) -> int:
    """Rebuild one entry: ``mutate_models.py IDENT DIRECTORY [SEED]``."""
    if len(argv) < 3:
        sys.stderr.write("usage: mutate_models.py IDENT DIRECTORY [SEED]\n")
        return 2
    seed = int(argv[3]) if len(argv) > 3 else DEFAULT_SEED
    entry = next((m for m in corpus(seed) if m.ident == argv[1]), None)
    if entry is None:
        sys.stderr.write(f"no corpus entry {argv[1]!r}\n")
        return 2
    sys.stdout.write(f"{entry.write(Path(argv[2]))}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
