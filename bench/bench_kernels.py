"""Instructions per MAC of the s8 multiply-accumulate kernels (issue #10
shapes, and cnn_bn_res's conv / fully connected layers) on mps2-an386
(Cortex-M4) and mps3-an547 (Cortex-M55): Fixpoint's reference kernel, the
variants for the board (``_dsp``; ``_mve`` on the M55) and CMSIS-NN's kernel,
on identical random data, outputs checked identical. Also cnn_bn_res's whole
inference per board (the generated firmware's counter, as bench_hil.py),
against CMSIS-NN's conv + fully connected sum.

The firmware is runtime/firmware/kernel_check/kc_bench.c; instruction counts
are exact (QEMU ``-icount shift=8`` and the SysTick counter of
runtime/firmware/counter/systick_icount.c). CMSIS-NN is a peer built outside
the repository: a checkout of github.com/ARM-software/CMSIS-NN and the
CMSIS-Core headers of github.com/ARM-software/CMSIS_6 in
``$FIXPOINT_PEERS_DIR`` (default ``~/.cache/fixpoint-peers``; cloned there
with git when missing), compiled per board with arm-none-eabi-gcc -O2 and the
board's -mcpu (DSP on the M4, MVE on the M55). Without it the CMSIS-NN
column is left empty.

Writes bench/results/kernels.md and kernels.json.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fixpoint.boards import load_board
from fixpoint.boards.kernel_fw import build_kernel_firmware, run_kernel_firmware

log = logging.getLogger("bench_kernels")
BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
BOARDS = ("mps2-an386", "mps3-an547")
PEERS = {"CMSIS-NN": "https://github.com/ARM-software/CMSIS-NN", "CMSIS_6": "https://github.com/ARM-software/CMSIS_6"}
SHAPES = {
    "conv3x3_16x16x16_16": "conv 3x3, 16x16x16 -> 16, pad 1",
    "dw3x3_32x32x32": "depthwise 3x3, 32x32x32, pad 1",
    "conv1x1_16x16x64_64": "conv 1x1, 16x16x64 -> 64",
    "fc_256_128": "fully connected 256 -> 128",
}
LINE = re.compile(r"^bench (\S+) (\S+) instructions=(\d+) macs=(\d+) match=(\d)$", re.M)


def peers_dir() -> Path | None:
    """The CMSIS-NN / CMSIS_6 checkouts, cloned on first use; None if unavailable."""
    root = Path(os.environ.get("FIXPOINT_PEERS_DIR", Path.home() / ".cache" / "fixpoint-peers"))
    for name, url in PEERS.items():
        if not (root / name).is_dir():
            root.mkdir(parents=True, exist_ok=True)
            proc = subprocess.run(
                ["git", "clone", "--depth", "1", url, str(root / name)], capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                log.warning("no %s checkout in %s (git clone failed); CMSIS-NN column skipped", name, root)
                return None
    return root


def build_cmsis_nn(board: str, peers: Path, work: Path) -> tuple[Path, list[Path]]:
    """CMSIS-NN's s8 conv / depthwise / fully connected sources as a static
    library for the board; returns it and its include directories."""
    b = load_board(board)
    nn = peers / "CMSIS-NN"
    includes = [nn / "Include", peers / "CMSIS_6" / "CMSIS" / "Core" / "Include"]
    src = nn / "Source"
    sources = sorted(
        [
            *(src / "ConvolutionFunctions").glob("*_s8*.c"),
            *(src / "FullyConnectedFunctions").glob("*_s8*.c"),
            *(src / "TransposeFunctions").glob("*.c"),
            *(src / "NNSupportFunctions").glob("*.c"),
        ]
    )
    sources = [s for s in sources if not re.search(r"_(f16|f32|flt)", s.stem)]
    cc = b.compiler.prefix + "gcc"

    def compile_one(s: Path) -> Path:
        obj = work / (s.stem + ".o")
        cmd = [
            cc,
            "-O2",
            *b.compiler.cflags,
            "-ffunction-sections",
            "-fdata-sections",
            *(f"-I{d}" for d in includes),
            "-c",
            str(s),
            "-o",
            str(obj),
        ]
        subprocess.run(cmd, check=True, capture_output=True)
        return obj

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        objs = list(pool.map(compile_one, sources))
    lib = work / "libcmsis_nn.a"
    subprocess.run([b.compiler.prefix + "ar", "rcs", str(lib), *map(str, objs)], check=True)
    return lib, includes


def bench_board(board: str, peers: Path | None) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="fp-kbench-") as tmp:
        work = Path(tmp)
        extra, includes, defines = [], [], {"KC_CMSIS": 0}
        if peers is not None:
            (work / "cmsis").mkdir()
            lib, includes = build_cmsis_nn(board, peers, work / "cmsis")
            extra, defines = [lib], {"KC_CMSIS": 1}
        image = build_kernel_firmware(
            board,
            "kc_bench.c",
            work / "fw",
            extra_sources=extra,
            defines=defines,
            variants=("dsp", "mve"),
            extra_cflags=[f"-isystem{d}" for d in includes],
        )
        run = run_kernel_firmware(board, image)
    if run.returncode != 0:
        raise RuntimeError(f"{board}: benchmark firmware failed:\n{run.stdout}")
    rows = []
    for shape, impl, n, macs, match in LINE.findall(run.stdout):
        rows.append(
            {
                "board": board,
                "shape": shape,
                "impl": impl,
                "instructions": int(n),
                "macs": int(macs),
                "per_mac": round(int(n) / int(macs), 2),
                "match": match == "1",
            }
        )
    return rows


CNN = "cnn_bn_res"
CNN_LABEL = "cnn_bn_res conv+fc layers (sum of 7 calls)"
IMPLS = ("reference", "dsp", "mve")


def with_cnn_sums(rows: list[dict]) -> list[dict]:
    """Adds per (board, impl) the sum over cnn_bn_res's conv / fully connected layer shapes."""
    sums: dict[tuple[str, str], dict] = {}
    for r in rows:
        if r["shape"].startswith(CNN + "_"):
            s = sums.setdefault(
                (r["board"], r["impl"]),
                {"board": r["board"], "shape": CNN, "impl": r["impl"], "instructions": 0, "macs": 0, "match": True},
            )
            s["instructions"] += r["instructions"]
            s["macs"] += r["macs"]
            s["match"] = s["match"] and r["match"]
    for s in sums.values():
        s["per_mac"] = round(s["instructions"] / s["macs"], 2)
    return rows + list(sums.values())


def table(rows: list[dict]) -> str:
    by = {(r["board"], r["shape"], r["impl"]): r for r in rows}
    impls = {b: [i for i in IMPLS if any(r["board"] == b and r["impl"] == i for r in rows)] for b in BOARDS}
    head = ["kernel (shape)"]
    for board in BOARDS:
        head += [f"{board} {i}" for i in impls[board]]
        head += [f"{board} CMSIS-NN", f"{board} {impls[board][-1]}/CMSIS-NN"]
    out = ["| " + " | ".join(head) + " |", "|---" + "|---:" * (len(head) - 1) + "|"]
    for shape, label in {**SHAPES, CNN: CNN_LABEL}.items():
        cells = [label]
        for board in BOARDS:
            vals = [by.get((board, shape, impl)) for impl in (*impls[board], "cmsis-nn")]
            cells += [f"{v['per_mac']:.2f}" if v else "-" for v in vals]
            best, peer = vals[-2], vals[-1]
            cells.append(f"{best['instructions'] / peer['instructions']:.2f}x" if best and peer else "-")
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def whole_inference(boards: tuple[str, ...], samples: int) -> list[dict]:
    """cnn_bn_res's instructions per inference on each board, as bench_hil.py measures them (the
    firmware's counter around each inference; the generated firmware picks the board's variants)."""
    from bench_hil import bench_one  # bench/ is the script's directory

    out = []
    with tempfile.TemporaryDirectory(prefix="fp-kbench-hil-") as tmp:
        for board in boards:
            r = bench_one(CNN, board, samples, Path(tmp))
            out.append(
                {
                    "board": board,
                    "count_per_inference": r["count_per_inference"],
                    "bit_exact": r["bit_exact"] == r["samples"],
                    "samples": r["samples"],
                }
            )
    return out


def inference_table(rows: list[dict], whole: list[dict]) -> str:
    by = {(r["board"], r["shape"], r["impl"]): r for r in rows}
    out = [
        "| board | cnn_bn_res whole inference (instructions) | bit-exact | CMSIS-NN conv+fc layers "
        "(instructions) | whole / CMSIS-NN conv+fc |",
        "|---|---:|---|---:|---:|",
    ]
    for w in whole:
        peer = by.get((w["board"], CNN, "cmsis-nn"))
        n = peer["instructions"] if peer else None
        out.append(
            f"| {w['board']} | {w['count_per_inference']:,.0f} | {w['bit_exact']} ({w['samples']} samples) | "
            + (f"{n:,} | {w['count_per_inference'] / n:.2f}x |" if n else "- | - |")
        )
    return "\n".join(out)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    peers = peers_dir()
    rows = []
    for board in BOARDS:
        rows += bench_board(board, peers)
    rows = with_cnn_sums(rows)
    whole = whole_inference(BOARDS, int(os.environ.get("FIXPOINT_BENCH_CNN_SAMPLES", "5")))
    bad = [r for r in rows if not r["match"]] + [w for w in whole if not w["bit_exact"]]
    md = [
        "# Kernel instructions per MAC (`python bench/bench_kernels.py`)",
        "",
        "Exact QEMU instruction counts (-icount, SysTick counter) of one call on random data; "
        "arm-none-eabi-gcc -O2. `dsp` is the `_dsp` variant (DSP extension), `mve` the `_mve` "
        "variant (Helium, mps3-an547 only); the last ratio compares the board's own variant (the "
        "rightmost Fixpoint column) with CMSIS-NN, built outside the repository (DSP on the M4, MVE "
        "on the M55). Every output equals the reference's"
        + (
            " except: " + ", ".join(f"{r['board']} {r.get('shape', CNN)} {r.get('impl', 'inference')}" for r in bad)
            if bad
            else ""
        )
        + ".",
        "",
        table(rows),
        "",
        "## cnn_bn_res: whole inference against CMSIS-NN's conv + fully connected layers",
        "",
        "Whole inference: the generated firmware's instruction counter per inference "
        "(bench/bench_hil.py's measurement, every layer: conv, add, pools, fully connected, executor), "
        "mean over the first eval samples, outputs bit-exact with the simulator. CMSIS-NN: the sum of "
        "its conv / fully connected calls on cnn_bn_res's layer shapes (table above, last row).",
        "",
        inference_table(rows, whole),
        "",
    ]
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "kernels.md").write_text("\n".join(md))
    (RESULTS / "kernels.json").write_text(json.dumps({"kernels": rows, "inference": whole}, indent=1) + "\n")
    log.info("%s", "\n".join(md))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
