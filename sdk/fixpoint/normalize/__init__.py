"""Normalization: ONNX-stage graph -> normalized graph (runtime ops, NHWC).

The contract of the result is ``docs/normalized-ir.md``. ``normalize`` runs
:data:`PASSES` in order, each a module with ``run(graph) -> graph``, and checks
:func:`check_invariants` after each one.
"""

from __future__ import annotations

import copy
import logging
from types import ModuleType

from fixpoint.ir import Graph, ModelError
from fixpoint.normalize import (
    canonicalize,
    drop_identity,
    fold_batchnorm,
    fold_constants,
    fuse_activation,
    plan_layout,
    resolve_reshapes,
    to_fully_connected,
)
from fixpoint.normalize.graph_edit import prune
from fixpoint.normalize.invariants import InvariantError, check_invariants

log = logging.getLogger(__name__)

# Why this order: constants must be folded before anything reads weights;
# ops get runtime keys before BN folding so BN folds the same way into conv and
# FC; activations fuse after BN (conv -> BN -> relu); reshapes resolve after FCs
# exist (their weights absorb the flatten); layouts change last so every pass
# before can trust the ONNX shapes.
PASSES: tuple[ModuleType, ...] = (
    drop_identity,
    fold_constants,
    canonicalize,
    to_fully_connected,
    fold_batchnorm,
    fuse_activation,
    resolve_reshapes,
    plan_layout,
)


def pass_name(module: ModuleType) -> str:
    return module.__name__.rsplit(".", 1)[-1]


def normalize(graph: Graph) -> Graph:
    """Return the normalized graph of an ONNX-stage ``graph`` (which is left untouched)."""
    if graph.stage != "onnx":
        raise ValueError(f"normalize expects an ONNX-stage graph, got stage {graph.stage!r}")
    result = prune(copy.deepcopy(graph))  # exporters leave unused initializers behind
    check_invariants(result, after="load")
    for module in PASSES:
        try:
            result = module.run(result)
        except ModelError as exc:  # name the file: the message names only the node
            raise exc.located(graph.source_path) from None
        check_invariants(result, final=module is PASSES[-1], after=pass_name(module))
        log.debug("after %s: %d nodes", pass_name(module), len(result.nodes))
    return result


__all__ = ["normalize", "check_invariants", "InvariantError", "PASSES"]
