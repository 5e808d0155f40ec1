"""A mutated board-file corpus: every shipped board.toml, each line deleted,
duplicated or given a hostile value, plus byte-level damage. Each must either
load as a valid board or fail with one BoardFileError line naming the file;
nothing else may escape (a traceback on the command line). A sample of the
corpus also goes through the real CLI: exit 2, one `error:` line, no output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixpoint.boards import BoardFileError, boards_dir, list_boards, load_board

HOSTILE_VALUES = [
    "-1",
    "0",
    "1e309",
    "nan",
    "-inf",
    "99999999999999999999",
    '"x"',
    '""',
    "true",
    "[]",
    "{}",
    '[1, "a"]',
    '"../../../../../etc/passwd"',
    '"/etc/passwd"',
    '"\\u001b[31mred"',
    '"' + "A" * 5000 + '"',
    "{ origin = -1, size = -1 }",
    '[{ name = "cpu" }]',
]
_ASSIGNMENT = re.compile(r"^(\s*[A-Za-z0-9_.\"-]+\s*=\s*)(.+)$")


def mutations(text: str) -> Iterator[tuple[str, bytes]]:
    """(description, file bytes) for every mutation of one board file."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        yield f"line {i + 1} deleted", "\n".join(lines[:i] + lines[i + 1 :]).encode()
        yield f"line {i + 1} twice", "\n".join(lines[: i + 1] + lines[i:]).encode()
        match = _ASSIGNMENT.match(line)
        if match is None:
            continue
        for value in HOSTILE_VALUES:
            changed = lines[:i] + [match.group(1) + value] + lines[i + 1 :]
            yield f"line {i + 1} = {value[:20]}", "\n".join(changed).encode()
    raw = text.encode()
    for cut in (1, len(raw) // 3, len(raw) // 2, len(raw) - 2):
        yield f"truncated at {cut}", raw[:cut]
    yield "invalid UTF-8", raw[:40] + b"\xff\xfe\xc3" + raw[40:]
    yield "NUL bytes", raw.replace(b"\n", b"\n\x00", 3)
    yield "empty", b""


def write_board(root: Path, name: str, data: bytes) -> Path:
    """A board folder named like the shipped one, so the name check passes and
    deeper checks are reached; the shipped folder's files are copied along."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    for extra in (boards_dir() / name).iterdir():
        if extra.name != "board.toml" and extra.is_file():
            (folder / extra.name).write_bytes(extra.read_bytes())
    path = folder / "board.toml"
    path.write_bytes(data)
    return path


def assert_clean(path: Path) -> str:
    """Loads, or fails with one line naming the file. Returns the outcome."""
    try:
        board = load_board(path)
        board.requant_profile()
    except BoardFileError as exc:
        message = str(exc)
        assert "\n" not in message and "\r" not in message, message[:300]
        assert str(path) in message, message[:300]
        assert "\x1b" not in message, message[:300]
        return "rejected"
    return "loaded"


@pytest.mark.parametrize("name", list_boards())
def test_every_mutation_loads_or_fails_with_one_line(name: str, tmp_path: Path) -> None:
    text = (boards_dir() / name / "board.toml").read_text()
    outcomes: dict[str, int] = {}
    for i, (what, data) in enumerate(mutations(text)):
        path = write_board(tmp_path / str(i), name, data)
        try:
            outcome = assert_clean(path)
        except AssertionError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything else is the bug this test looks for
            pytest.fail(f"{name}, {what}: {type(exc).__name__}: {str(exc)[:300]}")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # The corpus must mostly be bad files, or it tests nothing.
    assert outcomes.get("rejected", 0) > 5 * outcomes.get("loaded", 0), outcomes


CLI_CASES = ["invalid UTF-8", "truncated at 1", "= -1", '= "../../', "twice"]


@pytest.fixture(scope="module")
def plan_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plan")
    mlp = Path(__file__).resolve().parents[2] / "examples" / "models" / "mlp"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "-q",
            "calibrate",
            str(mlp / "model.onnx"),
            "--data",
            str(mlp / "calib.npz"),
            "--board",
            "host",
            "-o",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    return out / "plan.fxplan"


@pytest.mark.parametrize("case", CLI_CASES)
def test_bad_board_file_on_the_command_line(case: str, plan_path: Path, tmp_path: Path) -> None:
    name = "mps2-an386"
    text = (boards_dir() / name / "board.toml").read_text()
    data = next(d for what, d in mutations(text) if case in what)
    board = write_board(tmp_path / "boards", name, data)
    out = tmp_path / "generated"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fixpoint.cli",
            "codegen",
            "--plan",
            str(plan_path),
            "--board",
            str(board),
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(board) in lines[0], proc.stderr
    assert not out.exists() or not any(out.iterdir())
