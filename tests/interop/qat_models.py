"""PyTorch quantization-aware-training exports of example models (eager-mode fake quantization).

Each export rebuilds the example's float network in torch from the trained weights in
examples/<name>/model.onnx, QAT-prepares it (per-channel symmetric int8 weights, uint8 activations),
runs its observers on the example's calibration data and exports QDQ with torch.onnx (opset 13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from qdq_models import EXAMPLES

FLOAT_TOLERANCE = 1e-3  # torch float rebuild vs onnxruntime's float run of the example (max abs, logits)


def _qconfig():
    import torch
    import torch.ao.quantization as tq

    return tq.QConfig(
        activation=tq.FakeQuantize.with_args(
            observer=tq.MovingAverageMinMaxObserver, quant_min=0, quant_max=255, dtype=torch.quint8
        ),
        weight=tq.FakeQuantize.with_args(
            observer=tq.MovingAveragePerChannelMinMaxObserver,
            quant_min=-128,
            quant_max=127,
            dtype=torch.qint8,
            qscheme=torch.per_channel_symmetric,
        ),
    )


def _float_layers(model: str) -> dict:
    """Module name -> torch Conv2d/Linear with the example's weights; a BatchNormalization that follows a
    Conv is folded into the conv's weights and bias (the deployed graph has no BN either)."""
    import torch
    from torch import nn

    src = onnx.load(str(EXAMPLES / model / "model.onnx"))
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in src.graph.initializer}
    consumers = {n.input[0]: n for n in src.graph.node if n.input}
    layers: dict = {}
    for node in src.graph.node:
        if node.op_type not in ("Conv", "Gemm"):
            continue
        name = node.input[1].removesuffix(".weight")  # "net.2" (Gemm) or "stem.0" (Conv of a conv_bn)
        w = inits[node.input[1]]
        b = inits[node.input[2]] if len(node.input) > 2 else np.zeros(w.shape[0])
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Gemm":
            layer = nn.Linear(w.shape[1], w.shape[0])
        else:
            bn = consumers.get(node.output[0])
            if bn is not None and bn.op_type == "BatchNormalization":
                gamma, beta, mean, var = (inits[i] for i in bn.input[1:5])
                eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
                scale = gamma / np.sqrt(var + eps)
                w, b = w * scale[:, None, None, None], (b - mean) * scale + beta
            group = attrs.get("group", 1)
            layer = nn.Conv2d(
                w.shape[1] * group,
                w.shape[0],
                tuple(attrs["kernel_shape"]),
                stride=tuple(attrs.get("strides", (1, 1))),
                padding=tuple(attrs["pads"][:2]),
                groups=group,
            )
        layer.weight.data = torch.tensor(w, dtype=torch.float32)
        layer.bias.data = torch.tensor(b, dtype=torch.float32)
        layers[name.removesuffix(".0") if node.op_type == "Conv" else name] = layer
    return layers


def _check_float(model: str, net, x: np.ndarray) -> None:
    """The torch rebuild must compute what the example computes before it is quantized."""
    import torch

    sess = ort.InferenceSession(str(EXAMPLES / model / "model.onnx"), providers=["CPUExecutionProvider"])
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        got = net.eval()(torch.tensor(x)).numpy()
    diff = float(np.max(np.abs(got - ref)))
    assert diff < FLOAT_TOLERANCE, (model, diff)


def _qat_export(model: str, net, fuse: list[list[str]], path: Path) -> Path:
    import torch
    import torch.ao.quantization as tq

    with np.load(EXAMPLES / model / "eval.npz") as data:
        _check_float(model, net, data["input"][:256])
    net.train()
    if fuse:
        tq.fuse_modules_qat(net, fuse, inplace=True)
    net.qconfig = _qconfig()
    tq.prepare_qat(net, inplace=True)
    with np.load(EXAMPLES / model / "calib.npz") as data:
        x = data["input"]
    with torch.no_grad():
        for start in range(0, len(x), 50):
            net(torch.tensor(x[start : start + 50]))
    net.apply(tq.disable_observer)
    net.eval()
    torch.onnx.export(
        net,
        torch.tensor(x[:1]),
        str(path),
        input_names=["input"],
        output_names=["logits"],
        dynamo=False,
        opset_version=13,
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )
    return path


def export_mlp_qat(path: Path) -> Path:
    """The mlp's Gemm layers as torch Linear layers."""
    import torch
    import torch.ao.quantization as tq
    from torch import nn

    layers = list(_float_layers("mlp").values())

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

    return _qat_export("mlp", Net(), [], path)


def export_cnn_bn_res_qat(path: Path) -> Path:
    """The small ResNet (examples/train_examples.py CnnBnRes) with BN folded; conv+ReLU fused, the
    residual adds (with their ReLU) quantized through FloatFunctional."""
    import torch
    import torch.ao.quantization as tq
    import torch.nn.functional as F
    from torch import nn

    convs = _float_layers("cnn_bn_res")

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
            for name in ("stem", "b1_conv1", "b2_conv1"):
                setattr(self, name, nn.Sequential(convs[name], nn.ReLU()))
            self.b1_conv2, self.b2_conv2, self.b2_proj, self.fc = (
                convs["b1_conv2"],
                convs["b2_conv2"],
                convs["b2_proj"],
                convs["fc"],
            )
            self.add1, self.add2 = nn.quantized.FloatFunctional(), nn.quantized.FloatFunctional()

        def forward(self, x):
            x = self.stem(self.quant(x))
            x = self.add1.add_relu(self.b1_conv2(self.b1_conv1(x)), x)
            x = F.max_pool2d(x, 2)
            x = self.add2.add_relu(self.b2_conv2(self.b2_conv1(x)), self.b2_proj(x))
            return self.dequant(self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)))

    fuse = [[f"{name}.0", f"{name}.1"] for name in ("stem", "b1_conv1", "b2_conv1")]
    return _qat_export("cnn_bn_res", Net(), fuse, path)


def export_dwsep_qat(path: Path) -> Path:
    """The MobileNet-style net (DwSepNet) with BN folded; conv+ReLU fused, depthwise convs followed by a
    ReLU6 module (observed on its own), the two-branch concat quantized through FloatFunctional."""
    import torch.ao.quantization as tq
    import torch.nn.functional as F
    from torch import nn

    convs = _float_layers("dwsep")
    relu, relu6 = ("stem", "pw1", "a_pw", "b_pw", "pw3"), ("dw1", "a_dw", "dw3")

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant, self.dequant = tq.QuantStub(), tq.DeQuantStub()
            for name in relu:
                setattr(self, name, nn.Sequential(convs[name], nn.ReLU()))
            for name in relu6:
                setattr(self, name, nn.Sequential(convs[name], nn.ReLU6()))
            self.fc = convs["fc"]
            self.cat = nn.quantized.FloatFunctional()

        def forward(self, x):
            x = self.pw1(self.dw1(self.stem(self.quant(x))))
            x = self.cat.cat([self.a_pw(self.a_dw(x)), self.b_pw(x)], dim=1)
            x = self.pw3(self.dw3(x))
            return self.dequant(self.fc(F.avg_pool2d(x, 4).reshape(-1, 64)))

    fuse = [[f"{name}.0", f"{name}.1"] for name in relu]
    return _qat_export("dwsep", Net(), fuse, path)


QAT_EXPORTS = {"mlp": export_mlp_qat, "cnn_bn_res": export_cnn_bn_res_qat, "dwsep": export_dwsep_qat}
