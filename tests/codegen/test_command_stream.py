"""Register command stream: replaying it gives every layer's register block (the per-layer register
path), elision shrinks it, the generated C player agrees and catches a corrupted stream, and the
debug table names ONNX node -> layer -> engine -> register block."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from fixpoint.boards import load_board
from fixpoint.codegen import generate
from fixpoint.codegen.cmdstream import build_stream, debug_line, debug_table, replay
from fixpoint.codegen.context import build_context
from fixpoint.codegen.regvalues import LayerFields, layer_registers
from fixpoint.sim.executor import run_plan
from fixpoint.sim.stream import compile_stream, first_difference, run_stream

from codegen_plans import built_plan, random_inputs

ROOT = Path(__file__).resolve().parents[2]
BOARD = "mps2-an386-npu"


def _blocks(plan, board):
    ctx = build_context(plan, board, None)
    return [
        [
            c.word
            for c in layer_registers(
                LayerFields(plan, i, ctx.layer_structs[i], ctx.blob, ctx.engines), ctx.reg_map, "test"
            )
        ]
        for i in range(len(plan.layers))
    ], ctx.reg_map


@pytest.fixture(scope="module")
def chain():
    plan, _ = built_plan("chain", "s8")
    for i, layer in enumerate(plan.layers):  # spread over the board's engines (names only here)
        layer.engine = ("cpu", "npu8", "mac24", "shift")[i % 4]
    plan.model_hash = plan.compute_hash()
    return plan


def test_replay_equals_the_per_layer_register_path_and_elision_shrinks_it(chain):
    blocks, reg_map = _blocks(chain, load_board(BOARD))
    stream = build_stream(blocks, reg_map)
    assert replay(stream.words, reg_map) == blocks
    assert stream.total_writes < stream.full_writes == len(blocks) * len(reg_map.registers)
    assert 0 < stream.elided < 1 and "elided" in stream.summary()
    # the first layer writes only what differs from the reset values
    reset = [r.reset for r in reg_map.registers]
    assert stream.writes[0] == sum(1 for a, b in zip(blocks[0], reset) if a != b)
    # without elision, the stream would be one write per register per layer
    assert len(stream.words) == len(blocks) + 2 * stream.total_writes


def test_replay_rejects_a_malformed_stream(chain):
    blocks, reg_map = _blocks(chain, load_board(BOARD))
    words = list(build_stream(blocks, reg_map).words)
    with pytest.raises(ValueError, match="header for layer 1, expected 0"):
        replay(words[1 + 2 * (words[0] & 0xFFFF) :], reg_map)  # layer 0's commands left out
    bad = list(words)
    bad[1] = 999
    with pytest.raises(ValueError, match="register index 999"):
        replay(bad, reg_map)


def _player(gen, folder: Path, tmp_path: Path) -> int:
    main = tmp_path / "main.c"
    main.write_text(
        f'#include "{gen.files["accel_regs_h"].name}"\n'
        f"int main(void) {{ int32_t r = {gen.prefix}_accel_replay(); return r < 0 ? 255 : (int)r; }}\n"
    )
    exe = tmp_path / "player"
    subprocess.run(
        [
            "gcc",
            "-std=c99",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            f"-I{folder}",
            f"-I{ROOT / 'runtime' / 'include'}",
            f"-I{ROOT / 'runtime' / 'firmware'}",
            str(main),
            "-o",
            str(exe),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return subprocess.run([str(exe)], capture_output=True).returncode


def test_generated_player_agrees_and_catches_corruption(chain, tmp_path):
    gen = generate(chain, BOARD, tmp_path / "gen")
    header = gen.files["accel_regs_h"]
    text = header.read_text()
    assert _player(gen, header.parent, tmp_path) == 0
    assert re.search(r"command stream: \d+ register writes for \d+ layers \(\d+ without elision", text)
    # one write of layer 2 changed: the player reports that layer (2 + 1)
    line = next(li for li in text.splitlines() if "layer 2 '" in li and "writes */" in li)
    head, *rest = line.strip().rstrip(",").split("/*")[0].strip().rstrip(",").split(", ")
    assert rest, "layer 2 writes at least one register"
    rest[1] = "0xDEADu"
    header.write_text(text.replace(line, "    " + ", ".join([head, *rest]) + ", /* corrupted */"))
    assert _player(gen, header.parent, tmp_path) == 3
    # a header word that names the wrong layer is a malformed stream
    header.write_text(text.replace(line, line.replace(head, f"0x{(7 << 16) | int(head[2:-1], 16) & 0xFFFF:X}u", 1)))
    assert _player(gen, header.parent, tmp_path) == 255


def test_debug_table_names_node_layer_engine_and_block(chain):
    blocks, reg_map = _blocks(chain, load_board(BOARD))
    rows = debug_table(chain, build_stream(blocks, reg_map))
    assert [r["engine"] for r in rows] == [layer.engine for layer in chain.layers]
    line = debug_line(rows[1])
    assert line.startswith(f"ONNX {chain.layers[1].name} -> layer 1 '{chain.layers[1].name}' -> engine 'npu8' (")
    assert "register block 1, command stream words" in line


def test_layers_run_from_the_replayed_register_file(chain):
    """The simulator's command-stream path (each layer decoded from the register file the stream
    leaves, by the firmware's fp_layer_from_regs) gives the per-layer path's results bit for bit."""
    inputs = random_inputs(chain, 16)
    streamed = run_stream(chain, BOARD, inputs).outputs
    per_layer = run_plan(chain, inputs).outputs
    assert all(np.array_equal(a, b) for a, b in zip(streamed, per_layer))
    assert first_difference(chain, BOARD, inputs) is None


#: (fault, what the comparison says), None: either. Geometry: a stale PAD_TOP / an altered PAD_LEFT
#: runs and differs; a stale STRIDE_W (the add's 0) or an IN_C that disagrees with OUT_C makes the
#: pool refuse the layer; a stale K_H (the 3x3 conv's) has more taps than the 1x1 filter's table.
FAULTS = [
    ("elide_reset", None),
    ("drop:last:MULT_ADDR", None),
    ("drop:1:OUT_ZP", "differs on 16 of 16 samples"),
    ("drop:1:PAD_TOP", "differs on"),
    ("set:0:PAD_LEFT:2", "differs on"),
    ("drop:3:STRIDE_W", "is refused by the runtime on the command-stream path"),
    ("set:3:IN_C:4", "is refused by the runtime on the command-stream path"),
    ("drop:1:K_H", "its register file does not decode"),
]


@pytest.mark.parametrize("fault, says", FAULTS)
def test_a_faulty_stream_is_caught_by_results_naming_layer_and_block(chain, fault, says):
    """An elision bug / a lost or altered command changes what a layer computes (or makes its register
    file undecodable, or the layer refused); the comparison with the per-layer path names that layer
    and its register block."""
    blocks, reg_map = _blocks(chain, load_board(BOARD))
    files = replay(build_stream(blocks, reg_map).words, reg_map)
    reset = [r.reset for r in reg_map.registers]
    # layers whose commands the fault leaves out
    hit = [i for i in range(1, len(blocks)) if any(b == z != a for a, b, z in zip(files[i - 1], files[i], reset))]
    if fault.startswith(("drop:", "set:")):  # one lost / altered write
        kind, layer, name, *word = fault.split(":")
        k = len(blocks) - 1 if layer == "last" else int(layer)
        r = [reg.name for reg in reg_map.registers].index(name)
        if kind == "drop":
            assert files[k][r] != files[k - 1][r], "the stream writes that register for that layer"
        else:
            assert files[k][r] != int(word[0]), "the fault changes the register"
        hit, fault = [k], ":".join([kind, str(k), name, *word])
    found = first_difference(chain, BOARD, random_inputs(chain, 16), fault=fault)
    assert found is not None, "the faulty stream went unnoticed"
    k = int(found.split()[1])
    assert k in hit and found.startswith(f"layer {k} '{chain.layers[k].name}'"), found
    assert f"-> engine '{chain.layers[k].engine}'" in found and f"register block {k}, command stream words" in found
    assert says is None or says in found, found


#: params fields the geometry registers decode into (those the struct has)
GEOMETRY = (
    "input",
    "output",
    "filter",
    "filter_h",
    "filter_w",
    "stride_h",
    "stride_w",
    "dilation_h",
    "dilation_w",
    "pad_top",
    "pad_left",
)
GEOMETRY_MEMBERS = {
    "conv2d": "conv2d",
    "depthwise_conv2d": "depthwise_conv2d",
    "transpose_conv2d": "transpose_conv2d",
    "max_pool": "pool",
    "avg_pool": "pool",
}


def _geometry(params) -> dict:
    dims = ("n", "h", "w", "c")
    got = {f: getattr(params, f) for f in GEOMETRY if hasattr(params, f)}
    return {f: tuple(getattr(v, a) for a in dims) if f in ("input", "output", "filter") else v for f, v in got.items()}


@pytest.mark.parametrize("recipe", ["chain", "branches", "every_op"])
def test_the_registers_decode_to_the_layer_geometry(recipe):
    """On a correct stream, every conv / pool layer decoded from the register file has its own
    struct's geometry: the registers (regvalues) and the params (cparams) mean the same numbers."""
    plan, _ = built_plan(recipe, "s8")
    compiled = compile_stream(plan, BOARD).compiled
    checked = 0
    for i, layer in enumerate(plan.layers):
        if layer.op in GEOMETRY_MEMBERS:
            member = GEOMETRY_MEMBERS[layer.op]
            decoded, own = (getattr(ls[i].params, member) for ls in (compiled.graph.layers, compiled.layers))
            assert _geometry(decoded) == _geometry(own), (recipe, i, layer.op)
            checked += 1
    assert checked >= 2
