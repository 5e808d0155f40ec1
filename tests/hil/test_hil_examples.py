"""Every example model, its whole eval set, on each selected emulated board: every output byte
equals the host simulation, and board accuracy stays within budget of the float model. A board
outside FIXPOINT_WHOLE_EVAL_BOARDS (`make test`'s rotating board) runs the first SUBSET_SAMPLES
of each set: every byte still checked, the accuracy budget judged where the whole set runs."""

from __future__ import annotations

import pytest

from fixpoint.hil import HilJob, run_hil, write_json, write_junit

from hil_examples import SUBSET_SAMPLES, eval_set, example_models, selected_boards, whole_eval

MAX_DROP_PP = 1.0


@pytest.mark.parametrize("board", selected_boards())
@pytest.mark.parametrize("model", example_models())
def test_example_bit_exact_on_board(model, board, plan_for, tmp_path):
    outputs = plan_for(model, board)
    x, labels = eval_set(model)
    whole = whole_eval(board)
    if not whole:
        x, labels = x[:SUBSET_SAMPLES], labels[:SUBSET_SAMPLES]
    result = run_hil(
        HilJob(
            plan=outputs.plan,
            board=board,
            x=x,
            labels=labels,
            model_path=outputs.graph.source_path,
            work_dir=tmp_path,
            max_drop_pp=MAX_DROP_PP,
            progress=False,
        )
    )
    write_junit(tmp_path / "junit.xml", result)
    write_json(tmp_path / "result.json", result)
    assert result.n_samples == len(x) >= (1000 if whole else SUBSET_SAMPLES)
    assert not result.mismatches, result.summary()
    assert result.bit_exact == len(x)
    assert result.count_mean > 0 and result.samples_per_second > 0
    if not whole:
        return
    assert result.drop_pp is not None and result.drop_pp <= MAX_DROP_PP, result.summary()
    assert result.agreement is not None and result.agreement >= 0.97, result.summary()
