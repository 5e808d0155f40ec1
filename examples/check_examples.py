#!/usr/bin/env python3
"""Re-measure each example model's float accuracy with onnxruntime.

Usage: python examples/check_examples.py
Exits non-zero if any model's accuracy on eval.npz differs from
meta.json's float_top1_eval by more than 0.001 (or files are missing).
"""

import json
import os
import sys

import numpy as np
import onnxruntime as ort

MODELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models")
TOLERANCE = 0.001


def check(model_dir):
    with open(os.path.join(model_dir, "meta.json")) as f:
        meta = json.load(f)
    data = np.load(os.path.join(model_dir, "eval.npz"))
    x, y = data["input"], data["label"]
    calib = np.load(os.path.join(model_dir, "calib.npz"))["input"]
    assert list(x.shape[1:]) == meta["input_shape"], (x.shape, meta["input_shape"])
    assert list(calib.shape[1:]) == meta["input_shape"], (calib.shape, meta["input_shape"])
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(os.path.join(model_dir, "model.onnx"), so, providers=["CPUExecutionProvider"])
    out = sess.run(["logits"], {meta["input_name"]: x})[0]
    assert out.shape == (len(x), meta["num_classes"]), out.shape
    acc = float(np.mean(out.argmax(axis=1) == y))
    return meta["name"], acc, meta["float_top1_eval"]


def main():
    names = sorted(d for d in os.listdir(MODELS_DIR) if os.path.isdir(os.path.join(MODELS_DIR, d)))
    if not names:
        print("no models found in", MODELS_DIR)
        return 1
    failed = False
    for name in names:
        try:
            name, acc, ref = check(os.path.join(MODELS_DIR, name))
        except Exception as e:  # report and keep checking the others
            print(f"{name:12s} ERROR {e!r}")
            failed = True
            continue
        ok = abs(acc - ref) <= TOLERANCE
        failed |= not ok
        print(f"{name:12s} onnxruntime top1 {acc:.4f}  meta {ref:.4f}  {'OK' if ok else 'MISMATCH'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
