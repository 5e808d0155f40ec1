"""A bad farm file ends with exit 2 and one `error:` line naming the file and the field."""

from __future__ import annotations

import pytest

from fixpoint.cli import main
from fixpoint.farm import expand, load_farm

from farm_harness import farm_toml

GOOD = farm_toml(["host", "riscv32-virt"], ["mlp", "dwsep"], [{"name": "a"}, {"name": "b", "policy": "max"}])


def _error(tmp_path, capsys, text: str, *extra: str) -> str:
    farm = tmp_path / "farm.toml"
    farm.write_text(text)
    code = main(["farm", "run", str(farm), "--out", str(tmp_path / "out"), *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and err[0].startswith("error: "), err
    runs = [p for p in (tmp_path / "out").glob("*") if p.is_dir()] if (tmp_path / "out").exists() else []
    assert not runs, "no run may start on a bad farm file"
    return err[0]


@pytest.mark.parametrize(
    "edit, field",
    [
        (lambda t: t.replace('name = "a"', 'name = "a"\nbits = 8'), "unknown field 'configs[0].bits'"),
        (lambda t: t.replace("workers = 2", "workers = 0"), "field 'farm.workers'"),
        (lambda t: t.replace('policy = "max"', 'policy = "median"'), "field 'configs[1].policy'"),
        (lambda t: t.replace('policy = "max"', 'policy_search = "yes"'), "field 'configs[1].policy_search'"),
        (
            lambda t: t.replace('policy = "max"', 'policy = "max"\npolicy_search = "on"'),
            "field 'configs[1].policy_search': 'on' searches from the default ranges; drop it or policy 'max'",
        ),
        (lambda t: t.replace("hil = 600", "hil = -1"), "field 'timeouts.hil'"),
        (lambda t: t.replace('name = "riscv32-virt"', 'name = "no-such-board"'), "field 'boards[1].name'"),
        (lambda t: t.replace('name = "dwsep"', 'name = "no_such_model"'), "field 'models[1].path'"),
        (lambda t: t.replace('name = "b"', 'name = "a"'), "field 'configs': 'a' appears twice"),
        (lambda t: t.replace("[[models]]", "[[modelz]]", 1), "unknown field 'modelz'"),
        (lambda t: t.replace("[farm]", "[farm"), "invalid TOML"),
        (
            lambda t: t.replace("[thresholds]", '[thresholds]\ninstructions_pct = "5"'),
            "field 'thresholds.instructions_pct'",
        ),
        (
            lambda t: t.replace('name = "host"', 'name = "host"\ninstances = 2\nunits = [{ device = "/dev/ttyACM0" }]'),
            "field 'boards[0].instances': give instances or units, not both",
        ),
        (
            lambda t: t.replace('name = "host"', 'name = "host"\nunits = [{ baud = 9600 }]'),
            "field 'boards[0].units[0]': give device, serial_number or vid_pid",
        ),
        (
            lambda t: t.replace(
                'name = "host"', 'name = "host"\nunits = [{ serial_number = "A" }, { serial_number = "A" }]'
            ),
            "field 'boards[0].units': unit 'A' appears twice",
        ),
        (
            lambda t: t.replace('name = "host"', 'name = "host"\nunits = [{ vid_pid = "0483" }]'),
            "field 'boards[0].units[0].vid_pid'",
        ),
    ],
)
def test_schema_errors_name_the_field(tmp_path, capsys, edit, field):
    line = _error(tmp_path, capsys, edit(GOOD.replace("hil = 600.0", "hil = 600")))
    assert str(tmp_path / "farm.toml") in line and field in line, line


def test_missing_required_section(tmp_path, capsys):
    text = "\n".join(line for line in GOOD.splitlines() if "configs" not in line)
    text = text.split("[[boards]]", 1)[0] + '[[boards]]\nname = "host"\n[[models]]\nname = "mlp"\n'
    assert "field 'configs' is required" in _error(tmp_path, capsys, text)


def test_unknown_baseline_run(tmp_path, capsys):
    line = _error(tmp_path, capsys, GOOD, "--baseline", "19990101-000000-dead")
    assert "--baseline 19990101-000000-dead" in line


def test_matrix_is_boards_x_models_x_configs(tmp_path):
    farm = tmp_path / "farm.toml"
    farm.write_text(GOOD)
    jobs = expand(load_farm(farm))
    assert [j.id for j in jobs] == [
        f"{b}.{m}.{c}" for b in ("host", "riscv32-virt") for m in ("mlp", "dwsep") for c in ("a", "b")
    ]
    assert {j.samples for j in jobs} == {4}


def test_history_and_compare_name_a_missing_database_or_run(tmp_path, capsys):
    from fixpoint.farm import History

    missing = tmp_path / "none.sqlite"
    assert main(["farm", "history", "--db", str(missing)]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {missing}: no farm history there (--db names it; `fixpoint farm run` creates it)"
    )
    assert not missing.exists()
    db = tmp_path / "h.sqlite"
    History(str(db)).close()
    assert main(["farm", "compare", "20260101-000000-aaaa", "20260102-000000-bbbb", "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: 20260101-000000-aaaa: no such run in the history"]
    assert main(["farm", "history", "--db", str(db), "--run", "x"]) == 2
    assert "--run x: no such run" in capsys.readouterr().err
