"""evaluate() on a two-output plan against a numpy reference, per output."""

from __future__ import annotations

import math

import numpy as np
import onnxruntime as ort
import pytest

from fixpoint.evaluate import evaluate
from fixpoint.ir import ModelError
from fixpoint.pipeline import load_graph
from fixpoint.plan import load_plan
from fixpoint.sim.executor import dequantize, quantize_input, run_plan


def test_every_output_matches_a_numpy_reference(model_files, plan_for) -> None:
    files = model_files("two_outputs")
    plan, graph = load_plan(plan_for("two_outputs", "host")), load_graph(files["model"])
    with np.load(files["eval"]) as data:
        x, labels = data["x"], data["label/class"]
    box_labels = np.random.default_rng(4).integers(0, 2, len(x))
    floats = dict(
        zip(
            ["class", "box"],
            ort.InferenceSession(str(files["model"]), providers=["CPUExecutionProvider"]).run(
                ["class", "box"], {"x": x}
            ),
        )
    )
    sim = run_plan(plan, [quantize_input(plan, x)]).outputs
    ints = {name: dequantize(plan, plan.outputs[k], sim[k]) for k, name in enumerate(["class", "box"])}
    result = evaluate(files["model"], graph, plan, x, {"class": labels, "box": box_labels}, per_layer=False)
    truth = {"class": labels, "box": box_labels}
    for out in result.outputs:
        f, q = floats[out.name].astype(np.float64), ints[out.name].astype(np.float64)
        assert out.labeled
        assert out.float_top1 == pytest.approx(np.mean(f.argmax(1) == truth[out.name]))
        assert out.int_top1 == pytest.approx(np.mean(q.argmax(1) == truth[out.name]))
        assert out.agreement == pytest.approx(np.mean(f.argmax(1) == q.argmax(1)))
        assert out.mse == pytest.approx(np.mean((f - q) ** 2), rel=1e-5)
        assert out.sqnr_db == pytest.approx(10 * math.log10(np.sum(f**2) / np.sum((f - q) ** 2)), rel=1e-6)
    assert result.primary_output == "class" and result.float_metric == result.outputs[0].float_top1


def test_labels_for_an_unknown_output_are_refused(model_files, plan_for) -> None:
    files = model_files("two_outputs")
    plan, graph = load_plan(plan_for("two_outputs", "host")), load_graph(files["model"])
    with np.load(files["eval"]) as data:
        x = data["x"]
    with pytest.raises(ModelError, match="labels for 'score', which is not a plan output"):
        evaluate(files["model"], graph, plan, x, {"score": np.zeros(len(x), np.int64)})
