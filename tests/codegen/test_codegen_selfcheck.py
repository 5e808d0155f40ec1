"""(c) The generated compile-time self-checks fire on a corrupted layout, and
(e) register values that do not fit their register are one-line errors."""

from __future__ import annotations

import dataclasses
import re
import shutil

import pytest

from fixpoint.boards import load_board
from fixpoint.codegen import CodegenError, generate
from fixpoint.codegen.host import compile_generated
from fixpoint.codegen.host_runtime import HostBuildError

from codegen_helpers import TARGETS, compile_c
from codegen_plans import AN505, built_plan

GCC, CLANG = TARGETS[0], TARGETS[1]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    plan, _ = built_plan("every_op", "s8", profile=AN505, name="Self Check")
    return plan, generate(plan, "mps2-an505", tmp_path_factory.mktemp("selfcheck"))


def corrupted_copy(generated, tmp_path, role: str, pattern: str, replace):
    """A copy of the generated folder with one #define of file ``role`` rewritten."""
    folder = tmp_path / "gen"
    shutil.copytree(generated.out_dir, folder)
    path = folder / generated.files[role].name
    text, n = re.subn(pattern, replace, path.read_text(), count=1, flags=re.M)
    assert n == 1, f"pattern {pattern!r} not found in {path.name}"
    path.write_text(text)
    return folder


def compile_model(generated, folder, target, tmp_path):
    sources = [folder / p.name for p in generated.sources]
    return compile_c(target, sources, folder, tmp_path / f"obj-{target.name}")


@pytest.mark.parametrize("target", [GCC, CLANG], ids=lambda t: t.name)
def test_uncorrupted_copy_compiles(generated, target, tmp_path):
    _, gen = generated
    folder = tmp_path / "gen"
    shutil.copytree(gen.out_dir, folder)
    proc = compile_model(gen, folder, target, tmp_path)
    assert proc.returncode == 0, proc.stderr[:2000]


def _bump(delta: int):
    return lambda m: f"{m.group(1)}{int(m.group(2)) + delta}u"


def _set(value: int):
    return lambda m: f"{m.group(1)}{value}u"


def corruptions(plan):
    """(role, #define pattern, replacement, name of the check that must fire)."""
    last = len(plan.tensors) - 1
    arena = plan.arena_size
    return [
        ("layout_h", rf"^(#define SELF_CHECK_T{last}_OFFSET )(\d+)u", _set(arena), f"t{last}_in_arena"),
        ("layout_h", r"^(#define SELF_CHECK_T0_OFFSET )(\d+)u", _bump(2), "t0_aligned"),
        ("layout_h", r"^(#define SELF_CHECK_T1_SIZE )(\d+)u", _bump(arena), "t1_in_arena"),
        ("layout_h", r"^(#define SELF_CHECK_CONST_L0_WEIGHTS_OFFSET )(\d+)u", _bump(8), "l0_weights_offset"),
        ("layout_h", r"^(#define SELF_CHECK_CONSTS_SIZE )(\d+)u", _bump(8), "consts_size"),
        ("layout_h", r"^(#define SELF_CHECK_N_LAYERS )(\d+)u", _bump(1), "n_layers"),
        ("model_h", r"^(#define FP_MODEL_ARENA_SIZE )(\d+)u", _bump(-4), r"t\d+_in_arena"),
        ("model_h", r"^(#define FP_MODEL_INPUT_SIZE )(\d+)u", _bump(1), "input_size"),
        ("accel_regs_h", r"^(#define SELF_CHECK_ACCEL_BLOCK_BYTES )(\d+)u", _bump(4), "regs_block_bytes"),
        ("accel_regs_h", r"^(#define SELF_CHECK_ACCEL_N_REGS )(\d+)u", _bump(1), "regs_block_layout"),
    ]


@pytest.mark.parametrize("index", range(10))
def test_self_check_fires_on_corruption(generated, index, tmp_path):
    plan, gen = generated
    role, pattern, replace, check = corruptions(plan)[index]
    folder = corrupted_copy(gen, tmp_path, role, pattern, replace)
    for target in (GCC, CLANG):
        proc = compile_model(gen, folder, target, tmp_path)
        assert proc.returncode != 0, f"{target.name}: corrupting {pattern!r} still compiles"
        assert re.search(rf"self_check_check_({check})", proc.stderr), (
            f"{target.name}: expected check '{check}' to fire:\n{proc.stderr[:2000]}"
        )


def test_arena_offset_beyond_the_arena_is_caught_for_every_tensor(generated, tmp_path):
    plan, gen = generated
    folder = tmp_path / "gen"
    shutil.copytree(gen.out_dir, folder)
    layout = folder / gen.files["layout_h"].name
    text = re.sub(
        r"^(#define SELF_CHECK_T\d+_OFFSET )\d+u", rf"\g<1>{plan.arena_size}u", layout.read_text(), flags=re.M
    )
    layout.write_text(text)
    proc = compile_model(gen, folder, GCC, tmp_path)
    fired = set(re.findall(r"self_check_check_(t\d+)_in_arena", proc.stderr))
    assert fired == {f"t{i}" for i in range(len(plan.tensors))}


def _narrowed_board(field: str, width: int):
    board = load_board("mps2-an505")
    regs = board.accelerator.registers
    narrowed = tuple(dataclasses.replace(r, width=width) if r.field == field else r for r in regs.registers)
    acc = dataclasses.replace(board.accelerator, registers=dataclasses.replace(regs, registers=narrowed))
    return dataclasses.replace(board, accelerator=acc)


def test_register_value_that_does_not_fit_is_a_one_line_error(tmp_path):
    plan, _ = built_plan("every_op", "s8", profile=AN505)
    out = tmp_path / "out"
    with pytest.raises(CodegenError) as info:
        generate(plan, _narrowed_board("out_c", 2), out)
    message = str(info.value)
    assert "\n" not in message
    assert "layer 0 'conv2d0'" in message and "register OUT_C" in message and "outside [0, 3]" in message
    assert not out.exists() or not any(out.iterdir()), "a failed generation must not leave files behind"


def test_signed_register_overflow_names_layer_and_register(tmp_path):
    plan, _ = built_plan("chain", "s8", profile=AN505)
    with pytest.raises(
        CodegenError,
        match=r"^layer \d+ '\w+' \(\w+\) on board 'mps2-an505': "
        r"register (IN_ZP|OUT_ZP|ACT_MIN|ACT_MAX): value -?\d+ outside",
    ):
        generate(plan, _narrowed_board("act_min", 4), tmp_path)


def test_per_channel_plan_on_a_per_tensor_register_map_is_an_error(tmp_path):
    plan, _ = built_plan("chain", "s8")  # per-channel multipliers
    expected = (
        r"layer 0 'conv2d0' \(conv2d\) on board 'riscv32-virt': register (MULT|SHIFT): "
        r"5 per-channel values do not fit a per-tensor register"
    )
    with pytest.raises(CodegenError, match=expected):
        generate(plan, "riscv32-virt", tmp_path)


def test_layer_on_an_engine_the_board_lacks_is_an_error(tmp_path):
    plan, _ = built_plan("chain", "s8")
    plan.layers[1].engine = "gpu"
    # the host board has no register map: the default one, which has an ENGINE register
    with pytest.raises(
        CodegenError,
        match=r"layer 1 'conv2d1': engine 'gpu' is not an engine "
        r"of the board \(engines: cpu\)",
    ):
        generate(plan, "host", tmp_path)


def test_host_build_of_a_corrupted_copy_fails_with_one_line(generated, tmp_path):
    plan, gen = generated
    folder = corrupted_copy(gen, tmp_path, "layout_h", r"^(#define SELF_CHECK_T0_OFFSET )(\d+)u", _bump(2))
    broken = dataclasses.replace(gen, out_dir=folder, files={k: folder / p.name for k, p in gen.files.items()})
    with pytest.raises(HostBuildError) as info:
        compile_generated(broken)  # the key differs from the intact model: a fresh build
    assert "\n" not in str(info.value) and "host build failed" in str(info.value)
