#!/usr/bin/env python3
"""Train the zoo's recurrent models with numpy alone and write their ``model.onnx`` / ``meta.json``.

The other zoo models are PyTorch networks (``train_zoo.py``); the recurrent ones are small enough to
train here with backpropagation through time and Adam, so no torch is needed. The ONNX graph is the
one a PyTorch ``nn.LSTM`` / ``nn.GRU(batch_first=True)`` export gives: a Transpose to ONNX's
time-major layout, the LSTM (gates i, o, f, c) or GRU (gates z, r, h, linear_before_reset 1) and a
Gemm over the last hidden state (Y_h).

Usage:
    python examples/zoo/train_recurrent.py            # every recurrent model
    python examples/zoo/train_recurrent.py --only lstm_kws
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import zoo_data  # noqa: E402

log = logging.getLogger("train-recurrent")
OPSET = 14


@dataclass(frozen=True)
class RecurrentNet:
    input_name: str
    hidden: int
    classes: int
    cell: str = "LSTM"
    steps: int = 600
    batch: int = 64
    lr: float = 0.01

    @property
    def gates(self) -> int:
        return 4 if self.cell == "LSTM" else 3


NETS = {
    "lstm_kws": RecurrentNet("mfcc", hidden=32, classes=len(zoo_data.KWS_CLASSES)),
    "gru_anomaly": RecurrentNet("sensor", hidden=24, classes=len(zoo_data.SENSOR_CLASSES), cell="GRU", steps=800),
}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def init_params(n_in: int, net: RecurrentNet, rng: np.random.Generator) -> dict[str, np.ndarray]:
    h, g = net.hidden, net.gates
    bias = np.zeros(2 * g * h)  # the W side, then the R side (ONNX's B)
    if net.cell == "LSTM":
        bias[2 * h : 3 * h] = 1.0  # forget gate open at the start (the usual LSTM initialisation)
    return {
        "W": rng.normal(0, 1 / np.sqrt(n_in), (g * h, n_in)),
        "R": rng.normal(0, 1 / np.sqrt(h), (g * h, h)),
        "b": bias,
        "fc_w": rng.normal(0, 1 / np.sqrt(h), (h, net.classes)),
        "fc_b": np.zeros(net.classes),
    }


def forward(p: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, list]:
    """Logits [B, classes] and the per-step cache for backward; x [B, T, F]; gates i, o, f, c."""
    batch, steps, _ = x.shape
    hidden = p["R"].shape[1]
    h, c = np.zeros((batch, hidden)), np.zeros((batch, hidden))
    cache = []
    bias = p["b"][: 4 * hidden] + p["b"][4 * hidden :]
    for t in range(steps):
        z = x[:, t] @ p["W"].T + h @ p["R"].T + bias
        i, o, f = (_sigmoid(z[:, q * hidden : (q + 1) * hidden]) for q in range(3))
        g = np.tanh(z[:, 3 * hidden :])
        c_prev, h_prev = c, h
        c = f * c_prev + i * g
        h = o * np.tanh(c)
        cache.append((x[:, t], h_prev, c_prev, i, o, f, g, c))
    return h @ p["fc_w"] + p["fc_b"], cache


def loss_and_grads(p: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    logits, cache = forward(p, x)
    loss, d_logits = _softmax_loss(logits, y)
    h_last = cache[-1][4] * np.tanh(cache[-1][7])
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    grads["fc_w"], grads["fc_b"] = h_last.T @ d_logits, d_logits.sum(0)
    dh, dc = d_logits @ p["fc_w"].T, np.zeros_like(h_last)
    for xt, h_prev, c_prev, i, o, f, g, c in reversed(cache):
        tc = np.tanh(c)
        do = dh * tc
        dc = dc + dh * o * (1 - tc * tc)
        di, df, dg = dc * g, dc * c_prev, dc * i
        dz = np.concatenate([di * i * (1 - i), do * o * (1 - o), df * f * (1 - f), dg * (1 - g * g)], axis=1)
        grads["W"] += dz.T @ xt
        grads["R"] += dz.T @ h_prev
        grads["b"] += np.tile(dz.sum(0), 2)
        dh, dc = dz @ p["R"], dc * f
    return loss, grads


def gru_forward(p: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, list]:
    """Logits and the per-step cache of the GRU (linear_before_reset 1, gates z, r, h)."""
    batch, steps, _ = x.shape
    hidden = p["R"].shape[1]
    h = np.zeros((batch, hidden))
    cache = []
    for t in range(steps):
        a = x[:, t] @ p["W"].T + p["b"][: 3 * hidden]
        b = h @ p["R"].T + p["b"][3 * hidden :]
        z = _sigmoid(a[:, :hidden] + b[:, :hidden])
        r = _sigmoid(a[:, hidden : 2 * hidden] + b[:, hidden : 2 * hidden])
        n = np.tanh(a[:, 2 * hidden :] + r * b[:, 2 * hidden :])
        cache.append((x[:, t], h, z, r, n, b[:, 2 * hidden :]))
        h = (1 - z) * n + z * h
    return h @ p["fc_w"] + p["fc_b"], cache + [h]


def gru_loss_and_grads(p: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    logits, cache = gru_forward(p, x)
    h_last = cache.pop()
    loss, d_logits = _softmax_loss(logits, y)
    grads = {k: np.zeros_like(v) for k, v in p.items()}
    grads["fc_w"], grads["fc_b"] = h_last.T @ d_logits, d_logits.sum(0)
    dh = d_logits @ p["fc_w"].T
    for xt, h_prev, z, r, n, b_n in reversed(cache):
        dn = dh * (1 - z) * (1 - n * n)
        dz = dh * (h_prev - n) * z * (1 - z)
        dr = dn * b_n * r * (1 - r)
        da = np.concatenate([dz, dr, dn], axis=1)
        db = np.concatenate([dz, dr, dn * r], axis=1)
        grads["W"] += da.T @ xt
        grads["R"] += db.T @ h_prev
        grads["b"] += np.concatenate([da.sum(0), db.sum(0)])
        dh = dh * z + db @ p["R"]
    return loss, grads


def _softmax_loss(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy and its gradient with respect to the logits."""
    logits = logits - logits.max(1, keepdims=True)
    prob = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    batch = len(y)
    loss = float(-np.log(prob[np.arange(batch), y] + 1e-12).mean())
    prob[np.arange(batch), y] -= 1
    return loss, prob / batch


def train(name: str, net: RecurrentNet) -> dict[str, np.ndarray]:
    inputs, targets = zoo_data.generate(name, "train", net.steps * net.batch // 4)
    x, y = inputs[net.input_name].astype(np.float64), targets["logits"]
    rng = np.random.default_rng(zoo_data.seed_for(name, "init"))
    p = init_params(x.shape[2], net, rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    for step in range(1, net.steps + 1):
        pick = rng.integers(0, len(x), net.batch)
        loss, grads = (loss_and_grads if net.cell == "LSTM" else gru_loss_and_grads)(p, x[pick], y[pick])
        lr = net.lr * (0.1 if step > 0.8 * net.steps else 1.0)
        for k in p:  # Adam, gradients clipped per tensor
            g = np.clip(grads[k], -1.0, 1.0)
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g * g
            p[k] -= lr * (m[k] / (1 - 0.9**step)) / (np.sqrt(v[k] / (1 - 0.999**step)) + 1e-8)
        if step % 100 == 0:
            log.info("%s: step %d loss %.4f", name, step, loss)
    return p


def export(p: dict[str, np.ndarray], net: RecurrentNet, steps: int, n_in: int, path: Path) -> None:
    """batch-first input -> Transpose -> LSTM / GRU (Y_h) -> Reshape [-1, H] -> Gemm -> logits."""
    h, cell = net.hidden, net.cell.lower()
    f32 = np.float32
    inits = [
        numpy_helper.from_array(p["W"][None].astype(f32), f"{cell}.W"),
        numpy_helper.from_array(p["R"][None].astype(f32), f"{cell}.R"),
        numpy_helper.from_array(p["b"][None].astype(f32), f"{cell}.B"),
        numpy_helper.from_array(p["fc_w"].T.astype(f32), "fc.weight"),
        numpy_helper.from_array(p["fc_b"].astype(f32), "fc.bias"),
        numpy_helper.from_array(np.array([-1, h], np.int64), "flat_shape"),
    ]
    outputs = [f"{cell}.Y", f"{cell}.Y_h"] + ([f"{cell}.Y_c"] if net.cell == "LSTM" else [])
    extra = {"linear_before_reset": 1} if net.cell == "GRU" else {}
    nodes = [
        helper.make_node("Transpose", [net.input_name], ["steps_tbf"], perm=[1, 0, 2], name="to_time_major"),
        helper.make_node(
            net.cell, ["steps_tbf", f"{cell}.W", f"{cell}.R", f"{cell}.B"], outputs, hidden_size=h, name=cell, **extra
        ),
        helper.make_node("Reshape", [f"{cell}.Y_h", "flat_shape"], ["last_hidden"], name="flatten"),
        helper.make_node("Gemm", ["last_hidden", "fc.weight", "fc.bias"], ["logits"], transB=1, name="classifier"),
    ]
    source = helper.make_tensor_value_info(net.input_name, TensorProto.FLOAT, ["batch", steps, n_in])
    graph = helper.make_graph(
        nodes,
        path.parent.name,
        [source],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", net.classes])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="train_recurrent")
    onnx.checker.check_model(model)
    onnx.save(model, path)


def float_top1(name: str, net: RecurrentNet, path: Path) -> float:
    inputs, targets = zoo_data.generate(name, "eval", zoo_data.DATA[name].n_eval)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {net.input_name: inputs[net.input_name]})[0]
    return float(np.mean(logits.argmax(1) == targets["logits"]))


def build(name: str) -> None:
    net = NETS[name]
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    start = time.time()
    params = train(name, net)
    sample = zoo_data.generate(name, "calib", 1)[0][net.input_name]
    path = folder / "model.onnx"
    export(params, net, sample.shape[1], sample.shape[2], path)
    m = onnx.load(str(path))
    meta = {
        "name": name,
        "description": zoo_data.DESCRIPTIONS[name],
        "inputs": {net.input_name: ["batch", sample.shape[1], sample.shape[2]]},
        "outputs": {"logits": ["batch", net.classes]},
        "classifier_outputs": ["logits"],
        "params": int(sum(v.size for v in params.values())),
        "ops": sorted({n.op_type for n in m.graph.node}),
        "train_steps": net.steps,
        "train_batch": net.batch,
        "train_seconds": round(time.time() - start, 1),
        "float": {"logits": {"float_top1": float_top1(name, net, path)}},
        "opset": OPSET,
        "torch": None,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    log.info("%s: %s, %s", name, meta["float"], meta["ops"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(NETS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="train-recurrent: %(message)s")
    for name in args.only or list(NETS):
        build(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
