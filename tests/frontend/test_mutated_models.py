"""The mutated-model corpus (``mutate_models.py``) through the real ``fixpoint`` command line.

Each entry runs as its own ``fixpoint calibrate`` subprocess, as a user would run
it. A broken model must give exit code 2 and exactly one ``error:`` line on
stderr that names the file (or the node / tensor), with no traceback, no
onnxruntime log line, nothing on stdout and nothing in the output folder. An
entry that may leave a valid model (random bit flips, the deliberate controls)
is allowed exit code 0, and then every output file must be there; every other
entry must be rejected.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import onnx
import pytest

CALIBRATE_TESTS = Path(__file__).resolve().parents[1] / "calibrate"
if str(CALIBRATE_TESTS) not in sys.path:
    sys.path.insert(0, str(CALIBRATE_TESTS))

from mutate_models import EXAMPLES, Mutation, corpus  # noqa: E402
from test_calib_cli import SDK, _calibrate  # noqa: E402  (the calibrate CLI tests' runner)

from fixpoint.frontend.errors import short_name  # noqa: E402
from fixpoint.ir import printable  # noqa: E402

CORPUS = corpus()
BY_ID = {m.ident: m for m in CORPUS}
PLAN_FILES = ["cache_key.txt", "ctable.json", "plan.fxplan", "stats.npz"]
ORT_LOG_LINE = re.compile(r"\[[VIWEF]:onnxruntime:")


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def _assert_one_clean_error(proc: subprocess.CompletedProcess, *culprits: str) -> str:
    """Exit code 2, one ``error:`` line naming one of ``culprits``, nothing else anywhere."""
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stderr[-3000:]}"
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert not ORT_LOG_LINE.search(proc.stderr), proc.stderr
    lines = proc.stderr.splitlines()  # splits at \x85, \u2028... too: hostile names must be escaped
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert proc.stdout == "", proc.stdout
    assert any(c and c in lines[0] for c in culprits), f"{lines[0]!r} names none of {culprits}"
    return lines[0]


def _sin_node_names(model: Path) -> list[str]:
    """The (hostile) names the ``hostile_node_name`` mutation gave its unsupported node."""
    return [node.name for node in onnx.load(str(model), load_external_data=False).graph.node if node.op_type == "Sin"]


@pytest.mark.parametrize("mutation", CORPUS, ids=[m.ident for m in CORPUS])
def test_mutated_model_gives_one_clean_error(tmp_path: Path, mutation: Mutation, record_property) -> None:
    model = mutation.write(tmp_path / "model")
    proc = _calibrate(tmp_path, model, mutation.data)
    written = _files(tmp_path / "out")
    if proc.returncode == 0 and not mutation.must_fail:
        record_property("outcome", "accepted")  # still a valid model: complete outputs
        assert written == PLAN_FILES and "Traceback" not in proc.stderr, proc.stderr
        return
    record_property("outcome", "rejected")
    line = _assert_one_clean_error(proc, str(model), str(mutation.data))
    assert written == [], f"{mutation.ident} left {written}"
    if mutation.kind == "hostile_node_name":
        name = _sin_node_names(model)[0]
        assert printable(short_name(name)) in line, line


def test_corpus_is_large_deterministic_and_mostly_broken(tmp_path: Path) -> None:
    assert len(CORPUS) >= 200 and len(BY_ID) == len(CORPUS)
    assert sum(m.must_fail for m in CORPUS) >= 0.85 * len(CORPUS)
    entry = BY_ID["kws-flip_structure-003"]
    first = entry.write(tmp_path / "a").read_bytes()
    assert first == corpus()[CORPUS.index(entry)].write(tmp_path / "b").read_bytes()
    other_seed = next(m for m in corpus(seed=7) if m.ident == entry.ident)
    assert other_seed.write(tmp_path / "c").read_bytes() != first


def _fixpoint(*args: str) -> subprocess.CompletedProcess:
    """``python -m fixpoint.cli ARGS`` with the in-tree SDK, not quiet (the user's default)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SDK), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [sys.executable, "-m", "fixpoint.cli", *args], capture_output=True, text=True, env=env, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def mlp_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plan of the unmodified mlp example, for ``fixpoint eval`` to pair with broken models."""
    folder = tmp_path_factory.mktemp("mlp-plan")
    proc = _calibrate(folder, EXAMPLES / "mlp" / "model.onnx", EXAMPLES / "mlp" / "calib.npz")
    assert proc.returncode == 0, proc.stderr
    return folder / "out" / "plan.fxplan"


EVAL_ENTRIES = ["mlp-truncate-002", "mlp-hostile_node_name-000", "mlp-external_data-000"]


@pytest.mark.parametrize("ident", EVAL_ENTRIES)
def test_eval_rejects_the_model_like_calibrate(tmp_path: Path, mlp_plan: Path, ident: str) -> None:
    mutation = BY_ID[ident]
    model = mutation.write(tmp_path / "model")
    proc = _fixpoint(
        "eval",
        str(model),
        "--plan",
        str(mlp_plan),
        "--data",
        str(EXAMPLES / "mlp" / "eval.npz"),
        "--report",
        str(tmp_path / "report"),
        "--json",
        str(tmp_path / "eval.json"),
    )
    _assert_one_clean_error(proc, str(model))
    assert _files(tmp_path / "report") == [] and not (tmp_path / "eval.json").exists()


def test_eval_reports_a_model_onnxruntime_refuses(tmp_path: Path, mlp_plan: Path) -> None:
    """Repeated node names load (the front end renames them) but onnxruntime refuses the file:
    an error line, not its traceback. A warning that the plan came from another file may
    precede it, rightly."""
    model = BY_ID["mlp-duplicate-001"].write(tmp_path / "model")
    proc = _fixpoint("eval", str(model), "--plan", str(mlp_plan), "--data", str(EXAMPLES / "mlp" / "eval.npz"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert not ORT_LOG_LINE.search(proc.stderr), proc.stderr
    last = proc.stderr.splitlines()[-1]
    assert last.startswith(f"error: {model}: onnxruntime cannot load the model"), proc.stderr


DEPLOY_ENTRIES = ["kws-attr_group-000", "cnn_bn_res-bn_channels-000", "kws-external_symlink-000"]


@pytest.mark.parametrize("ident", DEPLOY_ENTRIES)
def test_deploy_rejects_the_model_like_calibrate(tmp_path: Path, ident: str) -> None:
    mutation = BY_ID[ident]
    model = mutation.write(tmp_path / "model")
    example = EXAMPLES / mutation.example
    proc = _fixpoint(
        "deploy",
        "--board",
        "host",
        "--model",
        str(model),
        "--data",
        str(example / "calib.npz"),
        "--eval-data",
        str(example / "eval.npz"),
        "--out",
        str(tmp_path / "out"),
    )
    _assert_one_clean_error(proc, str(model))
    assert _files(tmp_path / "out") == []


@pytest.mark.parametrize("ident", ["kws-attr_dilations-000", "dwsep-bn_values-000"])
def test_calibrate_without_quiet_still_prints_one_line(tmp_path: Path, ident: str) -> None:
    mutation = BY_ID[ident]
    model = mutation.write(tmp_path / "model")
    proc = _fixpoint(
        "calibrate", str(model), "--data", str(mutation.data), "--board", "host", "-o", str(tmp_path / "out")
    )
    _assert_one_clean_error(proc, str(model))
    assert _files(tmp_path / "out") == []
