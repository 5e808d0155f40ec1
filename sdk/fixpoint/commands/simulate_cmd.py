"""``fixpoint simulate``: run an integer plan on the host, bit-exactly.

The samples are checked first (headers, then one chunked pass over the
values), then stream through in batches while the outputs stream into the
.npz (:mod:`fixpoint.dataio`): memory stays flat whatever the file size, and
the output appears only once complete.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_kernels_arg, existing_file, open_plan_data, progress_bar

# Samples per simulator call: large enough that Python overhead per batch vanishes against the
# per-sample C calls, small enough that a batch (and its captured tensors) stays a few MB.
BATCH = 4096


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("simulate", help="run a plan on float samples with the reference runtime")
    parser.add_argument("--plan", type=existing_file, required=True)
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help=".npz, one array per model input name (one input: also 'input', or .npy)",
    )
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        required=True,
        help="output .npz: 'output' and 'output_int' ('output/<name>', 'output_int/<name>' "
        "for each of several outputs)",
    )
    parser.add_argument("--capture", action="store_true", help="also store every intermediate tensor")
    add_kernels_arg(parser, threads=True)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..dataio import stream_npz
    from ..plan import load_plan

    plan = load_plan(args.plan)
    samples, _ = open_plan_data(args.data, plan)  # every header checked, nothing read yet
    samples.scan()  # NaN/Inf (with the sample index) and damaged members, before any work is done
    with stream_npz(args.out, len(samples)) as out, progress_bar(len(samples), "simulate", not args.quiet) as bar:
        for batch in samples.batches(BATCH):
            for key, values in simulate_batch(plan, batch, args.capture):
                out.append(key, values)
            bar.update(len(batch))
    print(f"simulated {len(samples)} samples -> {args.out}")
    return 0


def simulate_batch(plan, batch: list, capture: bool):
    """(key, array) pairs of the output .npz for one batch of float samples (one array per input).

    A single-output plan writes ``output`` (dequantized, ONNX layout) and ``output_int`` (integers,
    NHWC) as it always did; a plan with several outputs writes ``output/<name>`` and
    ``output_int/<name>`` for every output (a bare ``output`` would hide which one it is).
    """
    from ..sim.executor import dequantize, quantize_input, run_plan

    result = run_plan(plan, [quantize_input(plan, x, k) for k, x in enumerate(batch)], capture=capture)
    several = len(plan.outputs) > 1
    for k, index in enumerate(plan.outputs):
        suffix = f"/{plan.tensors[index].name}" if several else ""
        yield f"output_int{suffix}", result.outputs[k]
        yield f"output{suffix}", dequantize(plan, index, result.outputs[k])
    for name, value in (result.intermediates or {}).items():
        yield f"tensor/{name}", value
