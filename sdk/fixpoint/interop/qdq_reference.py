"""The QDQ model as onnxruntime runs it, with its quantized tensors under the float names.

In a QDQ model the value a layer really passes on is the DequantizeLinear output, not the float
tensor before QuantizeLinear. This copy gives each activation's first DequantizeLinear output the
float tensor's name (the float tensor becomes ``NAME__float``), so the tools that compare a plan
with an ONNX model tensor by tensor (``fixpoint.evaluate``) compare it with onnxruntime's run of
the QDQ model: top-1 agreement and per-layer SQNR between the two integer pipelines.
"""

from __future__ import annotations

import onnx

FLOAT_SUFFIX = "__float"


def qdq_reference_model(model: onnx.ModelProto) -> onnx.ModelProto:
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    nodes = list(copy.graph.node)
    producer = {o: n for n in nodes for o in n.output}
    outputs = {o.name for o in copy.graph.output}
    done: set[str] = set()
    for dq in nodes:
        if dq.op_type != "DequantizeLinear" or dq.input[0] not in producer:
            continue
        q = producer[dq.input[0]]
        x = q.input[0]
        if q.op_type != "QuantizeLinear" or x in done or dq.output[0] in outputs or x not in producer:
            continue
        done.add(x)
        _rename(nodes, x, x + FLOAT_SUFFIX)
        old = dq.output[0]
        _rename(nodes, old, x)
    return copy


def _rename(nodes, old: str, new: str) -> None:
    for node in nodes:
        for j, name in enumerate(node.input):
            if name == old:
                node.input[j] = new
        for j, name in enumerate(node.output):
            if name == old:
                node.output[j] = new
