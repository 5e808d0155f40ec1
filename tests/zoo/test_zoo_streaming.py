"""Streaming the recurrent zoo models (lstm_kws, gru_anomaly) frame by frame.

* simulator: reset + one step per frame (or per chunk of frames) gives the whole-sequence outputs
  bit for bit after the last frame, and a final state whose h is the whole run's last h and which
  equals the Python reference's state after the whole sequence;
* generated C (host build): fp_model_reset_state / fp_model_step / fp_model_state reproduce the
  simulator's outputs and state bytes after every step;
* HIL (`fixpoint hil --streaming`): every step's outputs and state bytes on the board equal the
  simulator's; a left-out STATE_RESET is caught and named (sample, step, what diverged).

`make test` streams a few samples on the host board and mps2-an386; FIXPOINT_ZOO_SAMPLES=all with
FIXPOINT_TEST_BOARDS=all (`make test-all`) streams the whole eval sets on host, mps2-an386 and
riscv32-virt.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from fixpoint.codegen import generate
from fixpoint.codegen.host import compile_generated
from fixpoint.hil import HilJob, run_hil, write_json
from fixpoint.iospec import plan_input_specs
from fixpoint.reference.gru import GruParams, gru_initial_state, gru_s8
from fixpoint.reference.lstm import LstmParams, lstm_initial_state, lstm_s8
from fixpoint.sim.executor import quantize_input, run_plan
from fixpoint.sim.streaming import StreamingSim
from fixpoint.streaming import split_frames, state_slots, step_plan

from zoo_helpers import ZOO, zoo_samples

MODELS = ["lstm_kws", "gru_anomaly"]
STREAM_BOARDS = ("host", "mps2-an386", "riscv32-virt")
HIL_SAMPLES = {"host": 3}  # per board in `make test`; 2 on an emulated board


def _boards() -> list[str]:
    wanted = os.environ.get("FIXPOINT_TEST_BOARDS", "")
    if wanted == "all":
        return list(STREAM_BOARDS)
    chosen = [b.strip() for b in wanted.split(",") if b.strip()] if wanted else ["host", "mps2-an386"]
    # make test: the host and one emulated board (the rotating board is left to the full run)
    return [b for b in STREAM_BOARDS[:2] if b in chosen]


def _eval(plan, name: str, n: int | None) -> list[np.ndarray]:
    part = slice(None) if n is None else slice(0, n)
    with np.load(ZOO / name / "eval.npz") as data:
        return [quantize_input(plan, data[k][part], i) for i, (k, _) in enumerate(plan_input_specs(plan))]


def _random(plan, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-128, 128, (n, *plan.tensors[t].shape[1:])).astype(np.int8) for t in plan.inputs]


def _reference_state(plan, layer_index: int, x: np.ndarray) -> bytes:
    """The Python reference's state after the whole sequence ``x`` (the layer's input, one sample)."""
    layer = plan.layers[layer_index]
    prm = layer.params
    scales = {k: tuple((s["multiplier"], s["shift"]) for s in prm[k]) for k in ("input_scale", "recurrent_scale")}
    common = dict(
        input_offset=prm["input_offset"],
        hidden_offset=prm["hidden_offset"],
        output_offset=prm["output_offset"],
        hidden_scale=(prm["hidden_scale"]["multiplier"], prm["hidden_scale"]["shift"]),
        output_sequence=prm["output_sequence"],
        rounding=plan.profile.rounding,
        multiplier_bits=plan.profile.multiplier_bits,
        **scales,
    )
    a = layer.arrays
    if layer.op == "lstm":
        hidden = a["weights"].shape[0] // 4
        x = x.reshape(-1, a["weights"].shape[1] - hidden)
        state = lstm_initial_state(hidden, prm["hidden_offset"])
        p = LstmParams(cell_frac_bits=prm["cell_frac_bits"], cell_clip=prm["cell_clip"], **common)
        lstm_s8(x, a["weights"], a["bias"], a["sigmoid_lut"], a["tanh_lut"], a["cell_tanh_lut"], p, state=state)
    else:
        hidden = a["weights"].shape[0] // 3
        x = x.reshape(-1, a["weights"].shape[1] - hidden)
        state = gru_initial_state(hidden, prm["hidden_offset"])
        gru_s8(x, a["weights"], a["bias"], a["sigmoid_lut"], a["tanh_lut"], GruParams(**common), state=state)
    return state.tobytes()


@pytest.mark.parametrize("name", MODELS)
def test_streaming_equals_whole_sequence_on_the_simulator(name, zoo_plan) -> None:
    plan = zoo_plan(name, "host").plan
    x = [np.concatenate([a, b]) for a, b in zip(_random(plan, 4, 14), _eval(plan, name, 4))]
    whole = run_plan(plan, x, capture=True)
    slot = state_slots(step_plan(plan))[0]
    h_name = plan.tensors[plan.layers[slot.layer].output].name
    for chunk in (1, 4):
        sim = StreamingSim(plan, chunk)
        for b in range(len(x[0])):
            trace = sim.run_sequence([a[b : b + 1] for a in x])
            for k, out in enumerate(whole.outputs):
                assert np.array_equal(trace.outputs[-1][k][0], out[b]), (name, chunk, b, k)
            final = trace.states[-1]
            h = np.frombuffer(final[slot.nbytes - slot.hidden : slot.nbytes], np.int8)
            assert np.array_equal(h, whole.intermediates[h_name][b].reshape(-1)), (name, chunk, b)
            assert final == _reference_state(plan, slot.layer, x[0][b]), (name, chunk, b)
    # a reset really restores the initial state: a second run of the last sample is identical
    again = sim.run_sequence([a[-1:] for a in x])
    assert again.states[-1] == trace.states[-1]


@pytest.mark.parametrize("name", MODELS)
def test_generated_streaming_api_matches_the_simulator(name, zoo_plan, tmp_path) -> None:
    plan = zoo_plan(name, "host").plan
    generated = generate(plan, None, tmp_path / "gen")
    header = generated.files["model_h"].read_text()
    assert "#define FP_MODEL_HAS_STATE 1" in header and f"FP_MODEL_STATE_SIZE {generated.state_bytes}u" in header
    module = compile_generated(generated)
    sim = StreamingSim(plan)
    x = _random(plan, 3, 5)
    for b in range(3):
        trace = sim.run_sequence([a[b : b + 1] for a in x])
        module.reset_state()
        for s, frame in enumerate(split_frames(plan, x[0][b : b + 1])):
            want = b"".join(o.tobytes() for o in trace.outputs[s])
            assert module.step(frame.tobytes(), len(want)) == want, (name, b, s)
            assert module.state() == trace.states[s], (name, b, s)
        # the whole-sequence entry neither reads nor changes the stream state
        assert module.run(x[0][b].tobytes()) == b"".join(o.tobytes() for o in trace.outputs[-1])
        assert module.state() == trace.states[-1]


def _hil(name: str, board: str, plan, n: int | None, tmp_path, **extra):
    part = slice(None) if n is None else slice(0, n)
    with np.load(ZOO / name / "eval.npz") as data:
        x = [data[k][part] for k, _ in plan_input_specs(plan)]
    return run_hil(
        HilJob(
            plan=plan,
            board=board,
            x=x,
            work_dir=tmp_path,
            max_drop_pp=100.0,
            progress=False,
            localize=False,
            streaming=True,
            **extra,
        )
    ), len(x[0])


@pytest.mark.parametrize("board", _boards())
@pytest.mark.parametrize("name", MODELS)
def test_streaming_hil_every_step_and_state(name, board, zoo_plan, tmp_path) -> None:
    plan = zoo_plan(name, board).plan
    result, count = _hil(name, board, plan, zoo_samples(HIL_SAMPLES.get(board, 2)), tmp_path)
    write_json(tmp_path / "result.json", result)
    assert not result.mismatches and not result.failures, result.summary()
    assert result.bit_exact == count and all(o.bit_exact == count for o in result.outputs)


def test_a_missing_state_reset_is_caught(zoo_plan, tmp_path) -> None:
    """Sample 1 starts from sample 0's final state on the board: named as sample 1, step 0, state."""
    plan = zoo_plan("lstm_kws", "host").plan
    result, _ = _hil("lstm_kws", "host", plan, 3, tmp_path, skip_state_reset=frozenset({1}))
    assert [m.sample for m in result.mismatches] == [1], result.summary()
    m = result.mismatches[0]
    assert m.step == 0 and "state" in m.diverged, result.summary()
    assert "sample 1" in result.summary() and "step 0" in result.summary()
    assert result.bit_exact == 2 and not result.failures


def test_streaming_a_plan_without_recurrent_layers_is_refused(tmp_path, capsys) -> None:
    """`fixpoint hil --streaming` on a plan with nothing to stream: exit 2, one error line, nothing built."""
    import sys
    from pathlib import Path

    from fixpoint.cli import main
    from fixpoint.plan import save_plan

    tests = Path(__file__).resolve().parents[1]
    sys.path[:0] = [str(tests / "codegen"), str(tests / "sim")]
    from codegen_plans import built_plan

    plan, _ = built_plan("chain", "s8", seed=3)
    save_plan(plan, tmp_path / "chain.fxplan")
    t = plan.tensors[plan.inputs[0]]
    np.savez(tmp_path / "data.npz", **{t.source or t.name: np.zeros((2, 3, 7, 7), np.float32)})
    argv = [
        "hil",
        "--board",
        "host",
        "--plan",
        str(tmp_path / "chain.fxplan"),
        "--data",
        str(tmp_path / "data.npz"),
        "--streaming",
        "--work-dir",
        str(tmp_path / "work"),
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: plan 'chain_s8' has no recurrent layer (lstm, gru): nothing to stream"]
    assert not (tmp_path / "work").exists()


def test_step_protocol_resend_and_order(zoo_plan, tmp_path) -> None:
    """STEP is idempotent for a resend of the last step (answered, not run again: the state does not
    advance twice), refuses any other index, and STATE_RESET / RESET start the stream over."""
    from fixpoint.boards.runner import open_board
    from fixpoint.hil.firmware import build_model_firmware
    from fixpoint.serial.stream import StreamOutOfStep, read_state, state_reset, step

    plan = zoo_plan("gru_anomaly", "host").plan
    stepper = step_plan(plan)
    out_size, size = stepper.tensors[stepper.outputs[0]].nbytes, state_slots(stepper)[0].nbytes
    frames = [f.tobytes() for f in split_frames(plan, _random(plan, 1, 9)[0])]
    image, _ = build_model_firmware(plan, "host", tmp_path)
    (tmp_path / "logs").mkdir()
    with open_board("host", image, expected_hash=plan.model_hash, log_dir=tmp_path / "logs") as session:
        client = session.client
        assert session.info is not None and session.info.streaming
        state_reset(client)
        first = step(client, 0, frames[0], out_size, size)
        again = step(client, 0, frames[0], out_size, size)
        assert not first.replayed and again.replayed
        assert (again.output, again.state) == (first.output, first.state)
        assert read_state(client, size) == first.state
        with pytest.raises(StreamOutOfStep):
            step(client, 2, frames[2], out_size, size)
        second = step(client, 1, frames[1], out_size, size)
        sim = StreamingSim(plan)
        trace = sim.run_sequence([_random(plan, 1, 9)[0]])
        assert [first.state, second.state] == trace.states[:2]
        state_reset(client)
        with pytest.raises(StreamOutOfStep):
            step(client, 2, frames[2], out_size, size)
        assert step(client, 0, frames[0], out_size, size).state == first.state
        client.reset()  # a soft RESET re-initialises the model: the stream starts over too
        assert step(client, 0, frames[0], out_size, size).state == first.state
