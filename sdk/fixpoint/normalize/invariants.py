"""Structural invariants checked between normalization passes.

A failure here is a bug in a pass, not bad user input, so it raises
:class:`InvariantError` (a RuntimeError) with the pass name and the culprit.
"""

from __future__ import annotations

from fixpoint.iospec import row_major_shape
from fixpoint.ir import Graph
from fixpoint.ops import registry
from fixpoint.ops.runtime_ops import RUNTIME_OPS

SOURCE_LAYOUTS = ("NCHW", "NC", "NCL", "NHWC")

# Inputs and attributes of every normalized op (docs/normalized-ir.md), from the registry rows.
ACT_ATTRS = ("act", "act_range")
NORMALIZED_ATTRS: dict[str, tuple[str, ...]] = registry.runtime_values("normalized_attrs")
INPUT_COUNTS: dict[str, int] = registry.runtime_values("input_count")


class InvariantError(RuntimeError):
    """A normalization pass produced a malformed graph."""


def _check_structure(graph: Graph) -> list[str]:
    problems: list[str] = []
    defined = set(graph.inputs) | {n for n, v in graph.values.items() if v.is_const}
    for node in graph.nodes:
        for name in node.inputs:
            if name and name not in defined:
                problems.append(f"{node.name}: input '{name}' not defined before use")
        for name in node.outputs:
            if name and name in defined:
                problems.append(f"{node.name}: output '{name}' defined twice")
            if name and name not in graph.values:
                problems.append(f"{node.name}: output '{name}' has no Value")
            defined.add(name)
    problems += [f"graph output '{n}' is not defined" for n in graph.outputs if n not in defined]
    referenced = set(graph.inputs) | set(graph.outputs)
    for node in graph.nodes:
        referenced.update(node.inputs + node.outputs)
    problems += [f"dangling value '{n}'" for n in graph.values if n not in referenced]
    return problems


def _check_shapes(graph: Graph) -> list[str]:
    problems = []
    for name, value in graph.values.items():
        if any(not isinstance(d, int) or d < 0 for d in value.shape):
            problems.append(f"value '{name}' has shape {value.shape}")
        elif value.is_const and list(value.data.shape) != value.shape:
            problems.append(f"constant '{name}' shape {value.shape} != data {list(value.data.shape)}")
    return problems


def _check_final(graph: Graph) -> list[str]:
    problems = [] if graph.stage == "normalized" else [f"stage is {graph.stage!r}"]
    for node in graph.nodes:
        if node.op not in RUNTIME_OPS or node.op not in NORMALIZED_ATTRS:
            problems.append(f"{node.name}: op '{node.op}' is not a runtime op")
            continue
        if sorted(node.attrs) != sorted(NORMALIZED_ATTRS[node.op]):
            problems.append(f"{node.name} ({node.op}): attrs {sorted(node.attrs)}")
        if "" in node.inputs or len(node.inputs) != INPUT_COUNTS.get(node.op, len(node.inputs)):
            problems.append(f"{node.name} ({node.op}): inputs {node.inputs}")
        if len(node.outputs) != 1:
            problems.append(f"{node.name} ({node.op}): outputs {node.outputs}")
    for name in graph.activation_names():
        value = graph.values[name]
        if (
            len(value.shape) != 4
            or value.is_const
            or (value.source_layout not in SOURCE_LAYOUTS and row_major_shape(value.source_layout) is None)
        ):
            problems.append(f"activation '{name}': shape {value.shape}, layout {value.source_layout!r}")
    return problems


def check_invariants(graph: Graph, final: bool = False, after: str = "") -> None:
    """Raise InvariantError if ``graph`` is malformed.

    Always: topological order, every input defined, no dangling values, every
    shape known. With ``final``: every op is a runtime op with exactly the
    documented attributes and every activation is 4-D NHWC with a source layout.
    """
    problems = _check_structure(graph) + _check_shapes(graph)
    if final:
        problems += _check_final(graph)
    if problems:
        where = f" after {after}" if after else ""
        raise InvariantError(f"graph '{graph.name}'{where}: " + "; ".join(problems[:10]))
