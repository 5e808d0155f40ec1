"""Window geometry of Conv / pooling nodes: explicit [top, left, bottom, right] pads.

The runtime only knows explicit padding (bottom/right implied by the output
dims), so ``auto_pad`` and ``ceil_mode`` are resolved here once, from the
input and output shapes that ONNX shape inference already computed.
"""

from __future__ import annotations

from dataclasses import dataclass

from fixpoint.ir import Graph, Node


@dataclass
class Window:
    kernel: list[int]  # [kh, kw]
    strides: list[int]  # [sh, sw]
    dilations: list[int]  # [dh, dw]
    pads: list[int]  # [top, left, bottom, right]


def _pads_2d(node: Node, in_hw: list[int], out_hw: list[int], window: Window) -> list[int]:
    auto_pad = node.attrs.get("auto_pad", "NOTSET")
    begin, end = [0, 0], [0, 0]
    for axis in range(2):
        effective = (window.kernel[axis] - 1) * window.dilations[axis] + 1
        needed = max((out_hw[axis] - 1) * window.strides[axis] + effective - in_hw[axis], 0)
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            small = needed // 2
            begin[axis] = small if auto_pad == "SAME_UPPER" else needed - small
            end[axis] = needed - begin[axis]
        elif auto_pad == "NOTSET":
            pads = list(node.attrs.get("pads", [0, 0, 0, 0]))
            begin[axis], end[axis] = int(pads[axis]), int(pads[axis + 2])
        # ceil_mode (or any rounding up) needs more bottom/right than given:
        # the output dims are authoritative, the extra taps are padding.
        end[axis] = max(end[axis], needed - begin[axis])
    return [begin[0], begin[1], end[0], end[1]]


def window_of(graph: Graph, node: Node, kernel: list[int]) -> Window:
    """Resolve strides, dilations and explicit pads of a 2-D Conv / pool node."""
    in_shape = graph.values[node.inputs[0]].shape  # NCHW
    out_shape = graph.values[node.outputs[0]].shape
    window = Window(
        kernel=[int(k) for k in kernel],
        strides=[int(s) for s in node.attrs.get("strides", [1, 1])],
        dilations=[int(d) for d in node.attrs.get("dilations", [1, 1])],
        pads=[0, 0, 0, 0],
    )
    window.pads = _pads_2d(node, in_shape[2:], out_shape[2:], window)
    return window
