#!/usr/bin/env python3
"""Train the model zoo briefly on synthetic data and export each model to ONNX (needs torch).

Usage:
    pip install torch==2.13.0
    python examples/zoo/train_zoo.py                  # every model
    python examples/zoo/train_zoo.py --only unet      # one model (repeatable)

Writes ``examples/zoo/NAME/model.onnx`` (opset 17, static shapes but a dynamic batch, BatchNorm folded
by the exporter) and ``meta.json`` (inputs, outputs, params, float metrics on the eval split measured
with onnxruntime). The data comes from ``zoo_data.py`` (split ``train``, fresh batches every step);
``make zoo-data`` writes the calibration and evaluation files from the same generators without torch.
Each export is checked: onnx.checker (full), strict shape inference, no Shape/Gather chains, and
onnxruntime equal to torch at batch 1 and 3.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import zoo_data  # noqa: E402
from zoo_nets import NETS, Net  # noqa: E402

log = logging.getLogger("train_zoo")
OPSET = 17
SEED = 1234


def loss_of(output: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Training loss of one output: cross-entropy for classes, YOLO-style for detections,
    BCE for masks, MSE for regressions."""
    if target.dtype == torch.int64:
        return F.cross_entropy(pred, target)
    if output == "detections":
        obj = target[..., 0]
        p = pred.clamp(1e-6, 1 - 1e-6)
        coords = ((p[..., 1:] - target[..., 1:]) ** 2).sum(-1)
        return F.binary_cross_entropy(p[..., 0], obj) + 5.0 * (obj * coords).sum() / obj.sum().clamp(min=1)
    if output == "mask":
        return F.binary_cross_entropy_with_logits(pred, target)
    return F.mse_loss(pred, target)


def train(name: str, net: Net) -> torch.nn.Module:
    torch.manual_seed(SEED)
    model = net.build()
    rng = np.random.default_rng(zoo_data.seed_for(name, "train"))
    opt = torch.optim.AdamW(model.parameters(), lr=net.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=net.lr, total_steps=net.steps)
    model.train()
    start = time.time()
    for step in range(net.steps):
        inputs, targets = zoo_data.DATA[name].make(net.batch, rng)
        preds = model(*[torch.from_numpy(inputs[k]) for k in net.inputs])
        preds = preds if isinstance(preds, tuple) else (preds,)
        loss = sum(loss_of(o, p, torch.from_numpy(targets[o])) for o, p in zip(net.outputs, preds))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 100 == 0 or step == net.steps - 1:
            log.info("%s step %d loss %.4f (%.0f s)", name, step, loss.item(), time.time() - start)
    return model.eval()


def export(name: str, net: Net, model: torch.nn.Module, path: Path) -> None:
    inputs, _ = zoo_data.generate(name, "calib", 3)
    dummy = tuple(torch.from_numpy(inputs[k][:1]) for k in net.inputs)
    axes = {k: {0: "batch"} for k in net.inputs + net.outputs}
    torch.onnx.export(
        model,
        dummy,
        str(path),
        opset_version=OPSET,
        input_names=list(net.inputs),
        output_names=list(net.outputs),
        dynamic_axes=axes,
        do_constant_folding=True,
        dynamo=False,
    )
    m = onnx.load(str(path))
    _inline_identities(m)
    _static_output_dims(m, {k: inputs[k][:1] for k in net.inputs})
    onnx.save(m, str(path))
    onnx.checker.check_model(str(path), full_check=True)
    onnx.shape_inference.infer_shapes(m, strict_mode=True)
    chains = sorted({n.op_type for n in m.graph.node} & {"Shape", "Gather", "Unsqueeze"})
    if chains:
        raise RuntimeError(f"{name}: the export has {chains}; use torch.flatten / constant reshapes")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for n in (1, 3):
        feed = {k: inputs[k][:n] for k in net.inputs}
        got = session.run(list(net.outputs), feed)
        with torch.no_grad():
            ref = model(*[torch.from_numpy(v) for v in feed.values()])
        ref = ref if isinstance(ref, tuple) else (ref,)
        for o, g, r in zip(net.outputs, got, ref):
            np.testing.assert_allclose(g, r.numpy(), rtol=1e-3, atol=1e-4, err_msg=f"{name}:{o} batch {n}")


def _inline_identities(m: onnx.ModelProto) -> None:
    """The TorchScript exporter de-duplicates equal parameters into Identity(initializer) nodes;
    replace each with a plain initializer."""
    inits = {i.name: i for i in m.graph.initializer}
    for node in [n for n in m.graph.node if n.op_type == "Identity" and n.input[0] in inits]:
        copy = onnx.TensorProto()
        copy.CopyFrom(inits[node.input[0]])
        copy.name = node.output[0]
        m.graph.initializer.append(copy)
        m.graph.node.remove(node)


def _static_output_dims(m: onnx.ModelProto, feed: dict[str, np.ndarray]) -> None:
    """Write every output's dims but the batch as numbers: the exporter names the dims of a Reshape
    result symbolically (``Reshapedetections_dim_1``) although the shape is static."""
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    shapes = dict(zip([o.name for o in session.get_outputs()], (a.shape for a in session.run(None, feed))))
    for out in m.graph.output:
        for dim, size in list(zip(out.type.tensor_type.shape.dim, shapes[out.name]))[1:]:
            dim.Clear()
            dim.dim_value = int(size)


def float_metrics(name: str, net: Net, path: Path) -> dict:
    """onnxruntime on the eval split: top-1 of the classifier outputs, RMS of the regressors."""
    inputs, targets = zoo_data.generate(name, "eval", zoo_data.DATA[name].n_eval)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outs = session.run(list(net.outputs), {k: inputs[k] for k in net.inputs})
    metrics = {}
    for o, y in zip(net.outputs, outs):
        t = targets[o]
        if o in zoo_data.DATA[name].classifier_outputs:
            metrics[o] = {"float_top1": float(np.mean(y.argmax(1) == t))}
        elif o == "detections":  # cells with an object, and the box error on those cells
            obj = t[..., 0] > 0.5
            metrics[o] = {
                "float_objectness_accuracy": float(np.mean((y[..., 0] > 0.5) == obj)),
                "float_box_rmse": float(np.sqrt(np.mean((y[obj][:, 1:] - t[obj][:, 1:]) ** 2))),
            }
        elif o == "mask":
            metrics[o] = {"float_pixel_accuracy": float(np.mean((y > 0) == (t > 0.5)))}
        else:
            metrics[o] = {"float_rmse": float(np.sqrt(np.mean((y - t) ** 2)))}
    return metrics


def build(name: str) -> None:
    net = NETS[name]
    folder = HERE / name
    folder.mkdir(exist_ok=True)
    start = time.time()
    model = train(name, net)
    path = folder / "model.onnx"
    export(name, net, model, path)
    m = onnx.load(str(path))
    shapes = {
        v.name: [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]
        for v in list(m.graph.input) + list(m.graph.output)
    }
    meta = {
        "name": name,
        "description": " ".join((type(model).__doc__ or type(model).__name__).split()),
        "inputs": {k: shapes[k] for k in net.inputs},
        "outputs": {k: shapes[k] for k in net.outputs},
        "classifier_outputs": list(zoo_data.DATA[name].classifier_outputs),
        "params": int(sum(p.numel() for p in model.parameters())),
        "ops": sorted({n.op_type for n in m.graph.node}),
        "train_steps": net.steps,
        "train_batch": net.batch,
        "train_seconds": round(time.time() - start, 1),
        "float": float_metrics(name, net, path),
        "opset": OPSET,
        "torch": torch.__version__,
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    log.info("%s: %s, %.0f kB, %s", name, meta["float"], path.stat().st_size / 1024, meta["ops"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(NETS))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="train-zoo: %(message)s")
    torch.set_num_threads(args.threads)
    for name in args.only or list(NETS):
        build(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
