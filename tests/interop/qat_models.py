"""A PyTorch quantization-aware-training export of the mlp example (eager-mode fake quantization)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from qdq_models import EXAMPLES


def export_mlp_qat(path: Path) -> Path:
    """The mlp's float weights in torch Linear layers, QAT-prepared (per-channel symmetric int8 weights,
    uint8 activations), observers run on calibration data, exported by torch.onnx as QDQ."""
    import torch
    import torch.ao.quantization as tq
    from torch import nn

    src = onnx.load(str(EXAMPLES / "mlp" / "model.onnx"))
    inits = {t.name: numpy_helper.to_array(t) for t in src.graph.initializer}
    layers = []
    for gemm in (n for n in src.graph.node if n.op_type == "Gemm"):
        w, b = inits[gemm.input[1]], inits[gemm.input[2]]
        fc = nn.Linear(w.shape[1], w.shape[0])
        fc.weight.data, fc.bias.data = torch.tensor(w), torch.tensor(b)
        layers.append(fc)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
            self.fcs = nn.ModuleList(layers)

        def forward(self, x):
            x = self.quant(x)
            for i, fc in enumerate(self.fcs):
                x = fc(x)
                x = torch.relu(x) if i < len(self.fcs) - 1 else x
            return self.dequant(x)

    net = Net().train()
    net.qconfig = tq.QConfig(
        activation=tq.FakeQuantize.with_args(observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255,
                                             dtype=torch.quint8),
        weight=tq.FakeQuantize.with_args(observer=tq.MovingAveragePerChannelMinMaxObserver, quant_min=-128,
                                         quant_max=127, dtype=torch.qint8, qscheme=torch.per_channel_symmetric))
    tq.prepare_qat(net, inplace=True)
    with np.load(EXAMPLES / "mlp" / "calib.npz") as data:
        x = data["input"]
    with torch.no_grad():
        for start in range(0, len(x), 50):
            net(torch.tensor(x[start:start + 50]))
    net.apply(tq.disable_observer)
    net.eval()
    torch.onnx.export(net, torch.tensor(x[:1]), str(path), input_names=["input"], output_names=["logits"],
                      dynamo=False, opset_version=13, dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return path
