"""Models with inputs and outputs of rank 2 to 5 (torch exports, tests/ranks/models): a video clip
[N, T, C, H, W] reshaped for a Conv, a volume [N, C, D, H, W] permuted then reshaped, elementwise ops
on a 5-D input, a YOLO-style head with a 5-D Transpose as an intermediate and as an output, the
YOLO decode (Slice of the 5-D predictions, sigmoid / exp, constant grid and anchors broadcast), two
inputs of ranks 5 and 2, and Gather with a scalar index dropping an axis (rank 4 -> 3 and 3 -> 2).

Each calibrates with the default settings, agrees with float, and runs bit-exact (every byte of every
output) on the host and the selected emulated boards (FIXPOINT_TEST_BOARDS, as tests/hil)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from fixpoint.evaluate import evaluate
from fixpoint.hil import HilJob, run_hil
from fixpoint.iospec import plan_input_specs

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hil"))
from hil_examples import selected_boards  # noqa: E402

MODELS = ["video", "volume", "gate5d", "yolo_head5d", "yolo_decode5d", "two_ranks", "pick"]
MIN_SQNR_DB = 30.0  # float vs integer on every output (all measured above 38 dB)
HIL_SAMPLES = {"host": 16}
HIL_DEFAULT = 3  # on an emulated board

# ONNX per-sample shape and stored layout of each input / output the users see
LAYOUTS = {
    "video": {"clip": ([3, 2, 8, 8], "ND:3x2x8x8"), "logits": ([4], "NC")},
    "volume": {"volume": ([2, 4, 6, 6], "ND:2x4x6x6")},
    "yolo_head5d": {"grid": ([3, 4, 4, 6], "ND:3x4x4x6"), "boxes": ([6, 48], "NCL")},
    "yolo_decode5d": {"xy": ([3, 4, 4, 2], "ND:3x4x4x2"), "conf": ([3, 4, 4, 2], "ND:3x4x4x2")},
    "two_ranks": {"clip": ([2, 2, 6, 6], "ND:2x2x6x6"), "meta": ([5], "NC")},
    "pick": {"mask": ([5, 5], "ND:5x5"), "seq": ([4, 6], "ND:4x6"), "first": ([6], "NC")},
}


def _eval_inputs(rank_files, name: str, plan, n: int) -> list[np.ndarray]:
    with np.load(rank_files(name)["eval"]) as data:
        return [data[k][:n] for k, _ in plan_input_specs(plan)]


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_inputs_and_outputs_keep_their_onnx_shapes(name, rank_plan) -> None:
    plan = rank_plan(name, "host").plan
    tensors = {plan.tensors[i].name: plan.tensors[i] for i in [*plan.inputs, *plan.outputs]}
    for tensor_name, (sample, layout) in LAYOUTS[name].items():
        t = tensors[tensor_name]
        assert t.source_layout == layout, (tensor_name, t.source_layout)
        if layout.startswith("ND:"):
            assert t.shape == [1, 1, 1, int(np.prod(sample))]


@pytest.mark.parametrize("name", MODELS)
def test_calibrates_with_defaults_and_agrees_with_float(name, rank_plan, rank_files) -> None:
    out = rank_plan(name, "host")
    x = _eval_inputs(rank_files, name, out.plan, 32)
    result = evaluate(out.graph.source_path, out.graph, out.plan, x, None, per_layer=False, progress=False)
    assert [o.name for o in result.outputs] == [out.plan.tensors[i].name for i in out.plan.outputs]
    for o in result.outputs:
        assert o.sqnr_db >= MIN_SQNR_DB, result.summary()
        if o.name == "logits":  # top-1 means something for a classifier, not for a grid of regressions
            assert o.agreement >= 0.9, result.summary()


@pytest.mark.parametrize("board", selected_boards())
@pytest.mark.parametrize("name", MODELS)
def test_every_output_byte_on_board(name, board, rank_plan, rank_files, tmp_path) -> None:
    out = rank_plan(name, board)
    x = _eval_inputs(rank_files, name, out.plan, HIL_SAMPLES.get(board, HIL_DEFAULT))
    count = len(x[0])
    result = run_hil(
        HilJob(
            plan=out.plan,
            board=board,
            x=x,
            model_path=out.graph.source_path,
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
        )
    )
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == count
    assert [o.name for o in result.outputs] == [out.plan.tensors[i].name for i in out.plan.outputs]
    assert all(o.bit_exact == count and o.agreement is not None for o in result.outputs), result.summary()
