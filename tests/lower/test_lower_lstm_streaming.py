"""Streaming of lowered LSTM / GRU models (fixpoint.streaming; the ONNX models of test_lower_lstm.py):
a classifier over the last h, one frame or a chunk of frames per step, on the simulator and in the
generated C (host build, and every generated file compiled strictly for the firmware targets);
direction "reverse" / "bidirectional" cannot stream and is refused by name. (Per-step outputs,
output_sequence 1, stream at kernel level: tests/runtime/test_recurrent_streaming.py; the front end
does not import ONNX Y yet.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from test_lower_lstm import MODELS, calibrator

from fixpoint.codegen import generate
from fixpoint.codegen.host import compile_generated
from fixpoint.sim.executor import run_plan
from fixpoint.sim.streaming import StreamingSim
from fixpoint.streaming import StreamingError, split_frames, step_plan

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "codegen"))
from codegen_helpers import TARGETS, compile_c, header_units  # noqa: E402

CELLS = ["LSTM", "GRU"]


@pytest.fixture(scope="module")
def streaming_models(tmp_path_factory):
    return {cell: calibrator(tmp_path_factory.mktemp(f"streaming_{cell}"), cell) for cell in CELLS}


def _inputs(plan, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, (n, *plan.tensors[t].shape[1:])).astype(np.int8) for t in plan.inputs]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("name,chunk", [("last", 1), ("last", 3), ("long", 8), ("long", 120)])
def test_streamed_steps_equal_the_whole_sequence(streaming_models, cell, name, chunk) -> None:
    plan = streaming_models[cell](name).plan
    x = _inputs(plan, 3, 7)
    whole = run_plan(plan, x).outputs[0]
    per_step = MODELS[name][3] == 0
    sim = StreamingSim(plan, chunk)
    for b in range(3):
        trace = sim.run_sequence([a[b : b + 1] for a in x])
        if per_step:  # the steps' outputs, back to back, are the whole output (time outermost)
            got = np.concatenate([o[0].reshape(-1) for o in trace.outputs])
            assert np.array_equal(got, whole[b].reshape(-1)), (cell, name, chunk, b)
        else:
            assert np.array_equal(trace.outputs[-1][0][0], whole[b]), (cell, name, chunk, b)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("name", ["reverse", "bidirectional"])
def test_backward_layers_cannot_stream(streaming_models, cell, name) -> None:
    plan = streaming_models[cell](name).plan
    with pytest.raises(StreamingError, match="runs its sequence backwards"):
        step_plan(plan)


@pytest.mark.parametrize("cell", CELLS)
def test_generated_streaming_c(streaming_models, cell, tmp_path) -> None:
    plan = streaming_models[cell]("last").plan
    generated = generate(plan, None, tmp_path / "gen")
    assert generated.state_bytes == (16 if cell == "LSTM" else 8)  # 3H = 15, H = 5, each 4-byte aligned
    units = [*generated.sources, *header_units(generated, tmp_path)]
    for target in TARGETS:
        proc = compile_c(target, units, generated.out_dir, tmp_path / f"obj-{target.name}")
        assert proc.returncode == 0 and not proc.stderr, f"{target.name}:\n{proc.stderr[:3000]}"
    module = compile_generated(generated)
    sim = StreamingSim(plan)
    x = _inputs(plan, 2, 3)
    for b in range(2):
        trace = sim.run_sequence([a[b : b + 1] for a in x])
        module.reset_state()
        for s, frame in enumerate(split_frames(plan, x[0][b : b + 1])):
            want = trace.outputs[s][0].tobytes()
            assert module.step(frame.tobytes(), len(want)) == want, (cell, b, s)
            assert module.state() == trace.states[s], (cell, b, s)
