"""The generated op resolver: a model's table lists exactly the (op, datapath)
pairs its layers use, each with the kernel variant the board's core gets
(fixpoint.ops.variants.choose_kernel; --kernels ref: the reference), its
firmware links exactly those kernels (arm-none-eabi-nm on the ELF built for
mps2-an386), every variant a core is given exists in the runtime built for
that core, and a pair missing from the table makes the generated model return
FP_ERR_UNRESOLVED on the host instead of crashing."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from fixpoint.boards import load_board
from fixpoint.boards.build import COMMON_CFLAGS, build_firmware
from fixpoint.codegen import CodegenError, generate
from fixpoint.codegen.host import HostRunError, compile_generated
from fixpoint.codegen.resolver import KernelEntry, all_kernel_entries, kernel_entries
from fixpoint.ops.runtime_ops import RUNTIME_OPS
from fixpoint.ops.variants import KERNEL_VARIANTS, choose_kernel

from codegen_helpers import sample_bytes
from codegen_plans import built_plan, example_plan, random_inputs

BOARD = "mps2-an386"
# Kernels and scratch-size twins; the adapters (fp_run_ / fp_need_) and the
# requantization primitives (fp_requantize_acc32/64) are not kernels.
KERNEL_SYMBOL = re.compile(
    r"^fp_(?!run_|need_)[a-z0-9_]+_s(?:1|2|4|8|16)(?:_s(?:8|16))?(?:_opt|_dsp_fast|_dsp|_mve)?(?:_scratch_size)?$"
)


def plan_pairs(plan) -> list[tuple[str, str]]:
    return list(dict.fromkeys((layer.op, layer.datapath) for layer in plan.layers if layer.op != "copy"))


def kernel_symbols(entries: list[KernelEntry]) -> set[str]:
    """The C kernels (and scratch-size twins) a table of entries makes the firmware link."""
    names = set()
    for e in entries:
        if e.op == "requantize":  # picks its kernel by the tensors' dtypes
            names |= {"fp_requantize_s8_s8", "fp_requantize_s8_s16", "fp_requantize_s16_s8"}
        else:
            names.add(e.kernel)
        if e.kernel.endswith("_dsp") and e.op != "add":  # offsets beyond the 16-bit lanes run the reference
            names.add(e.kernel.removesuffix("_dsp"))  # (fp_add_s8_dsp is exact on its own)
        if e.scratch:
            names.add(e.kernel + "_scratch_size")
    return names


@pytest.mark.parametrize(
    "recipe, datapath",
    [("every_op", "s8"), ("every_op", "s4"), ("every_op", "s16"), ("chain", "s8"), ("branches", "s16")],
)
def test_table_lists_exactly_the_pairs_the_plan_uses(recipe, datapath, tmp_path):
    plan, _ = built_plan(recipe, datapath)
    entries = kernel_entries(plan, "host")
    assert [(e.op, e.datapath) for e in entries] == plan_pairs(plan)
    for e in entries:
        chosen = choose_kernel(e.op, e.datapath, "host")
        assert e.run_name == chosen
        assert e.kernel == (RUNTIME_OPS[e.op].kernels[e.datapath] if chosen == e.name else f"fp_{chosen}")
        assert e.scratch == RUNTIME_OPS[e.op].has_weights
    source = generate(plan, None, tmp_path / "gen").files["model_c"].read_text()
    rows = re.findall(r"\{ (FP_OP_\w+), (FP_DP_\w+), fp_run_(\w+), (\w+), (\w+) \}", source)
    assert rows == [
        (
            RUNTIME_OPS[e.op].enum,
            f"FP_DP_{e.datapath.upper()}",
            e.run_name,
            f"fp_need_{e.run_name}" if e.scratch else "NULL",
            f"fp_describe_{RUNTIME_OPS[e.op].union_member}",
        )
        for e in entries
    ]
    ref = generate(plan, None, tmp_path / "ref", kernels="ref").files["model_c"].read_text()
    assert [r[2] for r in re.findall(r"\{ (FP_OP_\w+), (FP_DP_\w+), fp_run_(\w+), (\w+), (\w+) \}", ref)] == [
        e.name for e in entries
    ]


def test_the_s8_conv_kernels_get_the_opt_variant_on_every_core():
    """What each board core runs (docs/kernels.md): the portable _opt variant where no better one exists."""
    for core in ("host", "native", "cortex-m3", "rv32imac"):
        for key, variants in KERNEL_VARIANTS.items():
            assert choose_kernel(*key, core) == variants.get("opt", f"{key[0]}_{key[1]}")
            assert choose_kernel(*key, core, "ref") == f"{key[0]}_{key[1]}"
    assert choose_kernel("softmax", "s8", "cortex-m3") == "softmax_s8"
    assert choose_kernel("conv2d", "s8", "unknown-core") == "conv2d_s8"


def test_unknown_datapath_is_a_codegen_error(tmp_path):
    plan, _ = built_plan("chain", "s8")
    plan.layers[1].datapath = "s3"
    with pytest.raises(CodegenError, match=r"layer 1 '.*' \(conv2d, s3\) is not a runtime op and datapath"):
        kernel_entries(plan)


def test_missing_table_entry_is_fp_err_unresolved_on_the_host(tmp_path):
    """Drop the add entry from a generated chain model: its add layer now fails with
    FP_ERR_UNRESOLVED (-4), which fp_model_run passes on; the intact build runs."""
    plan, _ = built_plan("chain", "s8", name="resolver_drop")
    generated = generate(plan, None, tmp_path / "gen")
    inputs = sample_bytes(random_inputs(plan, 1, seed=3), 0)
    assert len(compile_generated(generated, tmp_path / "cache").run(inputs)) == generated.output_bytes
    model_c = generated.files["model_c"]
    text = model_c.read_text()
    row = f"    {{ FP_OP_ADD, FP_DP_S8, fp_run_{choose_kernel('add', 's8', 'host')}, NULL, fp_describe_add }},\n"
    assert row in text
    model_c.write_text(text.replace(row, ""))
    module = compile_generated(generated, tmp_path / "cache")
    with pytest.raises(HostRunError, match=r"fp_model_run returned -4$"):
        module.run(inputs)


def nm_symbols(image) -> set[str]:
    nm = shutil.which("arm-none-eabi-nm")
    assert nm, "arm-none-eabi-nm not on PATH"
    out = subprocess.run([nm, str(image)], capture_output=True, text=True, check=True).stdout
    return {parts[2] for parts in (line.split() for line in out.splitlines()) if len(parts) == 3 and parts[1] in "tT"}


@pytest.mark.parametrize("model", ["mlp", "cnn_bn_res"])
def test_firmware_links_only_the_kernels_the_model_uses(model, tmp_path):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    plan = example_plan(model)
    generated = generate(plan, BOARD, tmp_path / "gen")
    image = build_firmware(BOARD, generated.sources, [generated.out_dir], out_dir=tmp_path / "fw")
    symbols = nm_symbols(image)
    linked = {s for s in symbols if KERNEL_SYMBOL.match(s)}
    entries = kernel_entries(plan, load_board(BOARD).cpu.core)
    assert linked == kernel_symbols(entries)
    assert {f"fp_run_{e.run_name}" for e in entries} <= symbols or not entries
    every = kernel_symbols(all_kernel_entries())
    assert every - linked, "the test model uses every kernel: nothing to leave out"
    for absent in (
        "fp_softmax_s16",
        "fp_conv2d_s4",
        "fp_add_s16",
        "fp_kernels_all",
        "fp_conv2d_s2",
        "fp_fully_connected_s1",
    ):
        assert absent not in symbols, absent
    fc = choose_kernel("fully_connected", "s8", load_board(BOARD).cpu.core)
    # the example models' layers all meet the DSP fast path's precondition (TFLite-style
    # quantization): the generator names the specialised entry, which calls no reference
    assert fc.endswith("_dsp")
    for e in entries:
        if (e.op, e.datapath) in (("conv2d", "s8"), ("fully_connected", "s8")):
            assert e.kernel == f"fp_{e.op}_s8_dsp_fast" and e.kernel in linked
            assert f"fp_{e.op}_s8" not in linked and f"fp_{e.op}_s8_dsp" not in linked
    assert "fp_requant32" not in symbols or "add" in {e.op for e in entries}


@pytest.mark.parametrize("weight_bits", [2, 1])
def test_firmware_links_the_lowbit_kernel_only_where_used(weight_bits, tmp_path):
    """A ternary (binary) mlp links fp_fully_connected_s2 (_s1) and no other weighted kernel."""
    plan = example_plan("mlp", weight_bits=weight_bits)
    generated = generate(plan, BOARD, tmp_path / "gen")
    image = build_firmware(BOARD, generated.sources, [generated.out_dir], out_dir=tmp_path / "fw")
    symbols = nm_symbols(image)
    linked = {s for s in symbols if KERNEL_SYMBOL.match(s)}
    assert linked == kernel_symbols(kernel_entries(plan, load_board(BOARD).cpu.core))
    other = 1 if weight_bits == 2 else 2
    assert f"fp_fully_connected_s{weight_bits}" in linked
    assert f"fp_fully_connected_s{weight_bits}_scratch_size" in linked
    assert not {f"fp_fully_connected_s{other}", "fp_fully_connected_s8", "fp_conv2d_s2", "fp_conv2d_s1"} & symbols


def test_table_entry_without_describe_is_fp_err_unresolved_on_the_host(tmp_path):
    """A generated row whose describe function is NULL is ignored (no kernel runs unchecked)."""
    plan, _ = built_plan("chain", "s8", name="resolver_nodescribe")
    generated = generate(plan, None, tmp_path / "gen")
    inputs = sample_bytes(random_inputs(plan, 1, seed=4), 0)
    model_c = generated.files["model_c"]
    text = model_c.read_text()
    row = f"fp_run_{choose_kernel('add', 's8', 'host')}, NULL, fp_describe_add }}"
    assert row in text
    model_c.write_text(text.replace(row, row.replace("fp_describe_add", "NULL")))
    with pytest.raises(HostRunError, match=r"fp_model_run returned -4$"):
        compile_generated(generated, tmp_path / "cache").run(inputs)


# ---- no code of an unused op in a firmware ----------------------------------------------------

RUNTIME_SRC = Path(__file__).resolve().parents[2] / "runtime" / "src"
# Folders whose files each hold one op's code: a kernel (or its scratch-size twin, or an optimized
# variant) or a describe function. Every function the image holds from one of them must be of a used op.
PER_OP_DIRS = ("kernels", "kernels_opt", "describe")
EXECUTOR = ("fp_graph_run.c", "fp_graph_run_layer.c", "fp_graph_scratch_size.c", "fp_graph_internal.h")


def image_functions(image) -> dict[str, Path]:
    """Every function of the image (global or static) -> the source file it was compiled from."""
    nm = shutil.which("arm-none-eabi-nm")
    out = subprocess.run([nm, "-l", "--defined-only", str(image)], capture_output=True, text=True, check=True).stdout
    funcs = {}
    for line in out.splitlines():
        head, _, where = line.partition("\t")
        parts = head.split()
        if len(parts) == 3 and parts[1] in "tT" and where:
            funcs[parts[2]] = Path(where.rsplit(":", 1)[0]).resolve()
    return funcs


def used_stems(entries: list[KernelEntry]) -> set[str]:
    """File stems of the per-op sources a table of entries may pull in."""
    stems = kernel_symbols(entries) | {e.describe for e in entries}
    # an optimized variant of a used kernel lives in a file named after it (fp_conv2d_s8_opt.c, ...)
    return stems | {f"{s}_{v}" for s in stems for v in ("opt", "dsp", "mve")}


@pytest.mark.parametrize("model", ["mlp", "cnn_bn_res"])
def test_firmware_holds_no_code_of_an_unused_op(model, tmp_path):
    """Build the firmware for mps2-an386 and map every function of the linked image to its source
    (arm-none-eabi-nm -l, DWARF line info): no function may come from the kernel or describe file of an
    op the model does not use, and the executor's own functions are the same whatever the model."""
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    plan = example_plan(model)
    generated = generate(plan, BOARD, tmp_path / "gen")
    image = build_firmware(BOARD, generated.sources, [generated.out_dir], out_dir=tmp_path / "fw")
    funcs = image_functions(image)
    entries = kernel_entries(plan, load_board(BOARD).cpu.core)
    allowed = used_stems(entries)
    per_op = {
        name: src for name, src in funcs.items() if src.parent.name in PER_OP_DIRS and src.parent.parent == RUNTIME_SRC
    }
    assert per_op, "no kernel code found: is the image built with -g?"
    strays = {name: src.name for name, src in per_op.items() if src.stem not in allowed}
    assert not strays, f"code of unused ops in the {model} firmware: {strays}"
    describes = {name for name in funcs if name.startswith("fp_describe_")}
    assert describes == {e.describe for e in entries}
    every = all_kernel_entries()
    unused_members = {e.describe for e in every} - {e.describe for e in entries}
    assert unused_members, "the model uses every params member: nothing to leave out"
    adapters = {name for name in funcs if name.startswith(("fp_run_", "fp_need_"))}
    assert adapters <= {f"fp_{k}_{e.run_name}" for e in entries for k in ("run", "need")}
    executor = {name for name, src in funcs.items() if src.parent == RUNTIME_SRC / "graph"}
    assert {"fp_graph_run", "fp_graph_run_layer"} <= executor
    assert not {name for name in executor if name.startswith(("fp_describe", "fp_run_", "fp_need_"))}


def test_executor_source_names_no_op_but_copy():
    """The executor (runtime/src/graph/fp_graph_run*, its internal header) has no per-op code: it names
    no fp_op_t value but FP_OP_COPY (its own memmove) and FP_OP_COUNT, reads no params member but copy's,
    and does not include the resolver (so FP_KERNEL_LIST cannot reach it)."""
    for name in EXECUTOR:
        text = (RUNTIME_SRC / "graph" / name).read_text()
        code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        assert set(re.findall(r"\bFP_OP_\w+", code)) <= {"FP_OP_COPY", "FP_OP_COUNT"}, name
        assert set(re.findall(r"params\.(\w+)", code)) <= {"copy"}, name
        assert "fp_resolver.h" not in code, name
        assert not re.search(r"\bfp_(?:describe|run|need)_\w+\s*\(", code), name


def test_executor_objects_reference_no_kernel(tmp_path):
    """Compiled for the Cortex-M4 with the firmware's flags, each executor file defines only its own
    public function and calls nothing but libc's memset / memmove and the executor itself: no kernel,
    adapter or describe function, whatever FP_KERNEL_LIST holds."""
    cc = shutil.which("arm-none-eabi-gcc")
    if cc is None:
        pytest.skip("arm-none-eabi-gcc not installed")
    flags = [*COMMON_CFLAGS, *load_board(BOARD).compiler.cflags, f"-I{RUNTIME_SRC.parent / 'include'}"]
    nm = shutil.which("arm-none-eabi-nm")
    for name in EXECUTOR[:3]:
        obj = tmp_path / (name + ".o")
        subprocess.run([cc, *flags, "-c", str(RUNTIME_SRC / "graph" / name), "-o", str(obj)], check=True)
        out = subprocess.run([nm, str(obj)], capture_output=True, text=True, check=True).stdout
        rows = [line.split() for line in out.splitlines()]
        undefined = {r[1] for r in rows if len(r) == 2 and r[0] == "U"}
        defined = {r[2] for r in rows if len(r) == 3 and r[1] == "T"}
        assert defined == {Path(name).stem}, name
        assert undefined <= {"memset", "memmove", "fp_graph_run_layer"}, (name, undefined)


# ---- generation-time specialisation (fixpoint.codegen.specialise) -----------------------------------


def _adapters(plan, core: str = "cortex-m4", kernels: str | None = None) -> dict[tuple[str, str], str]:
    return {(e.op, e.datapath): e.run_name for e in kernel_entries(plan, core, kernels)}


def test_dsp_pairs_get_the_fast_entry_only_when_every_layer_meets_its_precondition():
    import copy

    import numpy as np

    plan = example_plan("cnn_bn_res")
    fast = {("conv2d", "s8"): "conv2d_s8_dsp_fast", ("fully_connected", "s8"): "fully_connected_s8_dsp_fast"}
    assert fast.items() <= _adapters(plan).items()
    assert fast.items() <= _adapters(plan, "cortex-m33").items()
    # no specialisation where the core's choice is not the dsp variant, nor when the reference is forced
    assert _adapters(plan, "cortex-m55")[("conv2d", "s8")] == "conv2d_s8_mve"
    assert _adapters(plan, "cortex-m3")[("conv2d", "s8")] == "conv2d_s8_opt"
    assert _adapters(plan, kernels="ref")[("conv2d", "s8")] == "conv2d_s8"

    convs = [i for i, layer in enumerate(plan.layers) if layer.op == "conv2d"]
    fcs = [i for i, layer in enumerate(plan.layers) if layer.op == "fully_connected"]

    wide = copy.deepcopy(plan)  # one conv layer's input offset outside [-127, 128]: its pair needs the fallback
    wide.layers[convs[-1]].params["input_offset"] = 129
    assert _adapters(wide)[("conv2d", "s8")] == "conv2d_s8_dsp"
    assert _adapters(wide)[("fully_connected", "s8")] == "fully_connected_s8_dsp_fast"

    left = copy.deepcopy(plan)  # a left shift in one channel: the generic epilogue is needed
    shift = np.array(left.layers[fcs[0]].arrays["shift"], copy=True)
    shift[0] = 1
    left.layers[fcs[0]].arrays["shift"] = shift
    assert _adapters(left)[("fully_connected", "s8")] == "fully_connected_s8_dsp"
    assert _adapters(left)[("conv2d", "s8")] == "conv2d_s8_dsp_fast"

    offset = copy.deepcopy(plan)  # a nonzero filter offset
    offset.layers[fcs[0]].params["filter_offset"] = 3
    assert _adapters(offset)[("fully_connected", "s8")] == "fully_connected_s8_dsp"

    single = copy.deepcopy(plan)  # SINGLE rounding: no layer takes the fast epilogue
    single.profile.rounding = "single"
    assert _adapters(single)[("conv2d", "s8")] == "conv2d_s8_dsp"
    assert _adapters(single)[("fully_connected", "s8")] == "fully_connected_s8_dsp"
