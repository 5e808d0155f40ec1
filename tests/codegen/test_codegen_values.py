"""The C text carries exactly the cparams values: the generic initializer
renderer, the register values, and (compiled and run) the constant blob and
register blocks as the C compiler laid them out."""

from __future__ import annotations

import struct
import subprocess

import numpy as np
import pytest

from fixpoint.boards.registers import REGISTER_FIELDS, SIGNED_FIELDS
from fixpoint.codegen import DEFAULT_REGISTER_MAP, generate
from fixpoint.codegen.cformat import CFormatError, c_identifier, c_initializer, c_string, c_value
from fixpoint.codegen.constblob import BLOB_MAGIC, build_blob
from fixpoint.codegen.context import build_context
from fixpoint.codegen.regvalues import LayerFields, layer_registers
from fixpoint.cparams import ArrayRef, layer_arrays_for_c, layer_struct, tensor_struct

from codegen_helpers import STRICT, include_flags
from codegen_plans import AN505, RV32, built_plan, example_plan


def test_generic_renderer():
    value = {
        "op": "FP_OP_CONV2D",
        "n": 3,
        "dims": {"n": 1, "h": -2},
        "list": [1, {"a": 2}],
        "ptr": ArrayRef("bias"),
        "none": None,
        "lo": -(1 << 31),
        "big": -(1 << 63),
        "wide": 1 << 40,
    }
    text = c_value(value, lambda ref: f"blob.{ref.name}")
    assert text == (
        "{.op = FP_OP_CONV2D, .n = 3, .dims = {.n = 1, .h = -2}, .list = {1, {.a = 2}}, "
        ".ptr = blob.bias, .none = NULL, .lo = (-2147483647 - 1), "
        ".big = (-9223372036854775807LL - 1), .wide = 1099511627776LL}"
    )
    assert c_initializer({"a": list(range(40))}).startswith("{\n    .a = {0, 1, 2, 3,")
    assert c_initializer({"s": [{"m": i, "k": -i} for i in range(8)]}).splitlines()[:3] == [
        "{",
        "    .s = {",
        "        {.m = 0, .k = 0},",
    ]
    with pytest.raises(CFormatError, match="array 'bias'"):
        c_value({"p": ArrayRef("bias")})
    with pytest.raises(CFormatError, match="0.5"):
        c_value({"x": 0.5})


def test_c_strings_and_identifiers():
    assert c_string('a"b\\c?\n') == '"a\\"b\\\\c\\077\\012"'
    assert c_identifier("__A..b__") == "a_b" and c_identifier("9x") == "m_9x" and c_identifier("--") == "model"


def test_default_register_map_matches_the_board_vocabulary():
    fields = [r.field for r in DEFAULT_REGISTER_MAP.registers]
    assert fields == [f for f in REGISTER_FIELDS if f != "reserved"]
    assert all(r.signed == (r.field in SIGNED_FIELDS) for r in DEFAULT_REGISTER_MAP.registers)
    assert [r.offset for r in DEFAULT_REGISTER_MAP.registers] == [4 * i for i in range(len(fields))]


def _cells(plan, board):
    ctx = build_context(plan, board, None)
    return ctx, [
        {
            c.register.field: c
            for c in layer_registers(
                LayerFields(plan, i, ctx.layer_structs[i], ctx.blob, ctx.engines), ctx.reg_map, "test"
            )
        }
        for i in range(len(plan.layers))
    ]


@pytest.mark.parametrize("board", [None, "mps3-an547"])
def test_register_values_are_the_cparams_values(board):
    plan, _ = built_plan("every_op", "s8")
    ctx, rows = _cells(plan, board)
    for i, cells in enumerate(rows):
        ls = layer_struct(plan, i)
        params = next(iter(ls["params"].values()))
        out = tensor_struct(plan, ls["output"])
        src = tensor_struct(plan, ls["inputs"][0])
        assert cells["out_addr"].value == out["offset"] and cells["in_addr"].value == src["offset"]
        assert [cells[f"out_{a}"].value for a in "hwc"] == [out["dims"][a] for a in "hwc"]
        assert [cells[f"in_{a}"].value for a in "hwc"] == [src["dims"][a] for a in "hwc"]
        if "act_min" in params:
            assert (cells["act_min"].value, cells["act_max"].value) == (params["act_min"], params["act_max"])
        if isinstance(params.get("input_offset"), int):
            assert cells["in_zp"].value == -params["input_offset"]
        if "stride_h" in params:
            assert cells["stride_h"].value == params["stride_h"] and cells["pad_top"].value == params["pad_top"]
        if ls["weights"] is not None:
            assert cells["w_addr"].value == ctx.blob.member(i, "weights").offset > 0
        else:
            assert cells["w_addr"].value == 0
        if "input2_offset" in params and ls["n_inputs"] == 2:
            assert cells["in2_addr"].value == tensor_struct(plan, ls["inputs"][1])["offset"]


def test_per_tensor_registers_take_the_single_table_entry():
    plan, _ = built_plan("chain", "s8", profile=RV32)
    ctx, rows = _cells(plan, "riscv32-virt")
    arrays = layer_arrays_for_c(plan.layers[0])
    assert rows[0]["shift"].value == int(arrays["shift"][0]) and arrays["shift"].size == 1
    add = next(i for i, layer in enumerate(plan.layers) if layer.op == "add")
    assert rows[add]["shift"].value == plan.layers[add].params["output_scale"]["shift"]


DUMP = r"""
#include <stdio.h>
#include "{regs}"
int main(void)
{{
    const unsigned char *blob = (const unsigned char *)&{p}_consts;
    size_t i, j;
    for (i = 0; i < {P}_ACCEL_N_LAYERS; ++i)
        for (j = 0; j < {P}_ACCEL_N_REGS; ++j)
            printf("%lu\n", (unsigned long){p}_accel_regs[i][j]);
    for (i = 0; i < sizeof({p}_consts); ++i)
        printf("%u\n", (unsigned)blob[i]);
    return 0;
}}
"""


@pytest.mark.parametrize("case", ["every_op-s4-an505", "every_op-s16-default", "cnn-s8-an547"])
def test_compiled_blob_and_register_blocks_hold_the_plan_values(case, tmp_path):
    plans = {
        "every_op-s4-an505": (lambda: built_plan("every_op", "s4", profile=AN505)[0], "mps2-an505"),
        "every_op-s16-default": (lambda: built_plan("every_op", "s16")[0], None),
        "cnn-s8-an547": (lambda: example_plan("cnn_bn_res"), "mps3-an547"),
    }
    make, board = plans[case]
    plan = make()
    gen = generate(plan, board, tmp_path / "gen")
    p = gen.prefix
    (tmp_path / "dump.c").write_text(DUMP.format(regs=gen.files["accel_regs_h"].name, p=p, P=p.upper()))
    exe = tmp_path / "dump"
    cmd = [
        "gcc",
        *STRICT,
        *include_flags(gen.out_dir),
        str(tmp_path / "dump.c"),
        str(gen.files["weights_c"]),
        "-o",
        str(exe),
    ]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    numbers = [int(x) for x in subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout.split()]

    ctx, rows = _cells(plan, board)
    n_regs = len(ctx.reg_map.registers)
    words = [c.word for cells in rows for c in (cells[r.field] for r in ctx.reg_map.registers)]
    assert numbers[: len(words)] == words
    blob = bytes(numbers[len(rows) * n_regs :])
    assert blob == expected_blob(plan)


def expected_blob(plan) -> bytes:
    """Header, then every C-typed array at its offset, zero padding elsewhere."""
    layout = build_blob(plan)
    data = bytearray(layout.size)
    data[0:8] = struct.pack("<II", BLOB_MAGIC, layout.size)
    for m in layout.tables:
        arr = layer_arrays_for_c(plan.layers[m.layer])[m.array]
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<"))  # the dump runs on x86-64
        data[m.offset : m.offset + raw.nbytes] = raw.tobytes()
    return bytes(data)
