#!/usr/bin/env python3
"""Flash of every example and zoo model's firmware, and which runtime kernels it links.

For each ``examples/models/*`` and ``examples/zoo/*`` (named ``zoo/<name>``) this calibrates the model for the board
(``fixpoint calibrate``, default options, the example's calib.npz), generates
its C and builds the firmware the way ``fixpoint deploy`` does
(``fixpoint.hil.firmware.build_model_firmware``), then reads the image with
the board toolchain's ``size`` (text, data, bss) and ``nm --size-sort``
(bytes of each runtime kernel ``fp_<op>_<s8|s4|s16>...`` in the image).

The result goes to ``bench/results/kernel_link.md`` and ``.json``. With
``--baseline FILE`` (a JSON this script wrote earlier; default
``bench/results/kernel_link_baseline.json``, measured on the commit before the
op resolver) the table shows that build's flash beside this one.

Usage:
    bench/bench_kernel_link.py                  # all examples and zoo models, mps2-an386, vs the baseline
    bench/bench_kernel_link.py --models mlp,zoo/unet --board mps2-an386 --baseline none
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sdk"))

from fixpoint.boards import load_board  # noqa: E402
from fixpoint.hil.firmware import build_model_firmware  # noqa: E402
from fixpoint.plan import load_plan  # noqa: E402

RESULTS = ROOT / "bench" / "results"
EXAMPLES = ROOT / "examples" / "models"
ZOO = ROOT / "examples" / "zoo"
# Measured with this script on commit e808129, before the op resolver, when the
# executor's switch referenced every kernel.
BASELINE = RESULTS / "kernel_link_baseline.json"
# A kernel (fp_conv2d_s8, fp_requantize_s8_s16) or a scratch-size twin; not the
# requantization primitives fp_requantize_acc32/64, which every kernel uses, nor
# the resolver's adapters fp_run_<op>_<dp> / fp_need_<op>_<dp> (counted apart).
KERNEL_SYMBOL = re.compile(
    r"^fp_(?!run_|need_)[a-z0-9_]+_s(?:4|8|16)(?:_s(?:8|16))?(?:_opt|_dsp|_dsp_fast)?(?:_scratch_size)?$"
)
# Objects of the runtime (runtime/src: fp_*.c) and of the generated model code (<prefix>_model.c, not
# the weights' <prefix>_model_weights.c) in the link map: "runtime and model code", issue #10's 20 KB.
RUNTIME_OBJECT = re.compile(r"^\d+_(?:fp_[a-z0-9_]+|[a-z0-9_]+_model)\.o$")
MAP_SECTION = re.compile(r"^ (\.(?:text|rodata|data)\S*)\s*(?:\n\s+)?0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)", re.M)
ADAPTER_SYMBOL = re.compile(r"^fp_(?:run|need)_[a-z0-9_]+$")
# The describe functions (an op's arena bounds, linked with its entry) and the executor's own code.
DESCRIBE_SYMBOL = re.compile(r"^fp_describe_[a-z0-9_]+$")
EXECUTOR_SYMBOL = re.compile(r"^fp_graph_(?:run|run_layer|scratch_size)$")
# The same table measured on the commit before describe functions moved into the resolver entries
# (a2e079f: the executor's fp_describe switch had a case for every op), for the "previous" columns.
PREVIOUS = RESULTS / "kernel_link_pre_describe.json"

log = logging.getLogger("bench_kernel_link")


def fixpoint_cmd(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "fixpoint.cli", "-q", *map(str, args)]


def child_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "sdk"), os.environ.get("PYTHONPATH", "")])}


def symbol_sizes(image: Path, nm_tool: str, pattern: re.Pattern[str], kinds: str = "tT") -> dict[str, int]:
    """Bytes of every function of the image whose name matches (``nm --size-sort``)."""
    proc = subprocess.run([nm_tool, "--size-sort", "--radix=d", str(image)], capture_output=True, text=True, check=True)
    sizes = {}
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in kinds and pattern.match(parts[2]):
            sizes[parts[2]] = int(parts[0])
    return dict(sorted(sizes.items()))


def measure(model: str, board_name: str, work: Path) -> dict:
    folder = ZOO / model.removeprefix("zoo/") if model.startswith("zoo/") else EXAMPLES / model
    plan_dir = work / model / "plan"
    subprocess.run(
        fixpoint_cmd(
            "calibrate", folder / "model.onnx", "--data", folder / "calib.npz", "--board", board_name, "-o", plan_dir
        ),
        check=True,
        env=child_env(),
    )
    plan = load_plan(plan_dir / "plan.fxplan")
    board = load_board(board_name)
    image, size = build_model_firmware(plan, board, work / model)
    nm = shutil.which(board.compiler.tool("nm")) or board.compiler.tool("nm")
    kernels = symbol_sizes(image, nm, KERNEL_SYMBOL)
    adapters = symbol_sizes(image, nm, ADAPTER_SYMBOL)
    describes = symbol_sizes(image, nm, DESCRIBE_SYMBOL)
    executor = symbol_sizes(image, nm, EXECUTOR_SYMBOL)
    pairs = sorted({f"{layer.op}/{layer.datapath}" for layer in plan.layers})
    return {
        "model": model,
        "text": size.text,
        "data": size.data,
        "bss": size.bss,
        "flash": size.flash,
        "ops": pairs,
        "kernels": kernels,
        "kernel_bytes": sum(kernels.values()),
        "adapter_bytes": sum(adapters.values()),
        "describe_bytes": sum(describes.values()),
        "executor_bytes": sum(executor.values()),
        "weight_bytes": plan_weight_bytes(image, nm),
        "runtime_code_bytes": runtime_code_bytes(image.with_name(image.name + ".map")),
    }


def runtime_code_bytes(link_map: Path) -> int:
    """Bytes the image holds from runtime and generated model objects (weights excluded), read from
    the linker map's placed input sections (text, rodata, data)."""
    if not link_map.is_file():
        return 0
    placed = link_map.read_text().split("Linker script and memory map", 1)[-1]
    return sum(int(size, 16) for _, _, size, obj in MAP_SECTION.findall(placed) if RUNTIME_OBJECT.match(Path(obj).name))


def plan_weight_bytes(image: Path, nm_tool: str) -> int:
    """Bytes of the generated constant blob (``<prefix>_consts``: weights, biases, multipliers)."""
    return sum(symbol_sizes(image, nm_tool, re.compile(r"^[a-z0-9_]+_consts$"), kinds="tTrR").values())


def render(rows: list[dict], board: str, baseline: dict | None, command: str, previous: dict | None = None) -> str:
    base = {r["model"]: r for r in (baseline or {}).get("rows", [])}
    prev = {r["model"]: r for r in (previous or {}).get("rows", [])}
    lines = [
        f"# Flash per example and zoo model on {board}: a model links only its kernels",
        "",
        f"* command: `{command}` ({datetime.date.today().isoformat()})",
        "* flash = text + data of the firmware ELF (toolchain `size`); kernel bytes = sum of the runtime "
        "kernel functions (`fp_<op>_<datapath>`, scratch-size twins included) in `nm --size-sort`",
        "* each model calibrated with default options for the board, built like `fixpoint deploy`",
    ]
    lines.append(
        "* runtime + model code = the image's bytes from runtime objects (`runtime/src`) and the generated "
        "model code (tables; not the weights), from the link map; the rest of flash is the weights and the "
        "firmware harness (serial protocol, startup, counter, libc)"
    )
    lines.append("* kernel bytes count the kernels' variants too (`_opt`, `_dsp`, `_dsp_fast`)")
    lines.append(
        "* describe bytes = the `fp_describe_<member>` functions (each linked op's arena bounds); "
        "executor bytes = `fp_graph_run`, `fp_graph_run_layer`, `fp_graph_scratch_size`"
    )
    if baseline:
        lines.append(f"* before: {baseline.get('label', 'baseline')}")
    if previous:
        lines.append(f"* previous: {previous.get('label', 'previous')}")
    lines.append("")
    head = (
        "| model | (op, datapath) pairs | text | data | bss | flash | weights | runtime + model code "
        "| kernels linked | kernel bytes | adapter bytes | describe bytes | executor bytes |"
    )
    rule = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    if baseline:
        head += " flash before | kernel bytes before | flash saved |"
        rule += "---:|---:|---:|"
    if previous:
        head += " flash previous | saved vs previous |"
        rule += "---:|---:|"
    lines += [head, rule]
    for r in rows:
        line = (
            f"| {r['model']} | {', '.join(r['ops'])} | {r['text']:,} | {r['data']:,} | {r['bss']:,} | "
            f"{r['flash']:,} | {r.get('weight_bytes', 0):,} | {r.get('runtime_code_bytes', 0):,} | "
            f"{len(r['kernels'])} | {r['kernel_bytes']:,} | "
            f"{r.get('adapter_bytes', 0):,} | {r.get('describe_bytes', 0):,} | {r.get('executor_bytes', 0):,} |"
        )
        if baseline and r["model"] in base:
            b = base[r["model"]]
            line += f" {b['flash']:,} | {b['kernel_bytes']:,} | {b['flash'] - r['flash']:,} |"
        elif baseline:
            line += " - | - | - |"
        if previous and r["model"] in prev:
            line += f" {prev[r['model']]['flash']:,} | {prev[r['model']]['flash'] - r['flash']:,} |"
        elif previous:
            line += " - | - |"
        lines.append(line)
    lines += ["", "Kernels in each image (bytes):", ""]
    for r in rows:
        lines.append(f"* {r['model']}: " + ", ".join(f"`{k}` {v:,}" for k, v in r["kernels"].items()))
    return "\n".join(lines) + "\n"


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def all_models() -> list[str]:
    """Every example model, then every zoo model (``zoo/<name>``; run ``make zoo-data`` first)."""
    examples = sorted(p.name for p in EXAMPLES.iterdir() if (p / "model.onnx").is_file())
    zoo = sorted(f"zoo/{p.name}" for p in ZOO.iterdir() if (p / "model.onnx").is_file())
    return examples + zoo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--board", default="mps2-an386")
    parser.add_argument("--models", default="", help="comma separated example names (default: all)")
    parser.add_argument(
        "--baseline",
        type=Path,
        default=BASELINE if BASELINE.is_file() else None,
        help="JSON of an earlier run to compare with (default %(default)s; 'none' for no comparison)",
    )
    parser.add_argument(
        "--previous",
        type=Path,
        default=PREVIOUS if PREVIOUS.is_file() else None,
        help="a second earlier JSON to compare with (default %(default)s; 'none' for none)",
    )
    parser.add_argument("--label", default="this build", help="what this run measures (stored in the JSON)")
    parser.add_argument("--out", type=Path, default=RESULTS / "kernel_link.md", help="markdown table (.json beside)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    models = [m for m in args.models.split(",") if m] or all_models()
    use_baseline = args.baseline is not None and str(args.baseline) != "none"
    baseline = json.loads(args.baseline.read_text()) if use_baseline else None
    use_previous = args.previous is not None and str(args.previous) != "none"
    previous = json.loads(args.previous.read_text()) if use_previous else None
    with tempfile.TemporaryDirectory(prefix="fixpoint-kernel-link-") as tmp:
        rows = [measure(m, args.board, Path(tmp)) for m in models]
    command = " ".join(["bench/bench_kernel_link.py", *(argv if argv is not None else sys.argv[1:])])
    text = render(rows, args.board, baseline, command, previous)
    write_atomic(args.out, text)
    write_atomic(
        args.out.with_suffix(".json"),
        json.dumps({"board": args.board, "label": args.label, "rows": rows}, indent=1) + "\n",
    )
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
