"""``fixpoint hil``: run a plan on a board over serial and compare bit for bit."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import (
    add_board_arg,
    add_kernels_arg,
    existing_file,
    load_plan_data,
    positive_int,
    positive_seconds,
    retry_count,
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser("hil", help="check a plan on a board against the host simulation")
    add_board_arg(parser)
    parser.add_argument("--plan", type=existing_file, required=True)
    parser.add_argument(
        "--data",
        type=existing_file,
        required=True,
        help="eval .npz: one array per model input name, optional labels 'label/<output>' ('label': the first output)",
    )
    parser.add_argument(
        "--model", type=existing_file, default=None, help="float ONNX model, for accuracy against float"
    )
    add_kernels_arg(parser)
    add_hil_args(parser)
    parser.set_defaults(func=run)


def add_hil_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("hardware-in-the-loop")
    g.add_argument("-n", "--samples", type=int, default=None, help="number of eval samples (default all)")
    g.add_argument(
        "--max-drop",
        type=float,
        default=1.0,
        help="accuracy budget: largest allowed drop vs float, percentage points (default 1.0)",
    )
    g.add_argument("--junit", type=Path, default=None, help="write JUnit XML here")
    g.add_argument("--json", type=Path, default=None, help="write the JSON result here")
    g.add_argument("--work-dir", type=Path, default=None, help="generated code, firmware and logs")
    g.add_argument(
        "--timeout",
        type=positive_seconds,
        default=None,
        help="link timeout: the longest wait for one response, seconds (default: board file)",
    )
    g.add_argument(
        "--run-timeout",
        type=positive_seconds,
        default=None,
        help="the longest one inference may take on the board, seconds (default: board file)",
    )
    g.add_argument(
        "--retries",
        type=retry_count,
        default=None,
        help="times a damaged or lost transaction is sent again (default: board file)",
    )
    g.add_argument(
        "--streaming",
        action="store_true",
        help="recurrent models: run each sample's sequence frame by frame (STEP) and compare every "
        "step's outputs and the recurrent state bytes with the simulator",
    )
    add_connection_args(parser)


def add_connection_args(parser: argparse.ArgumentParser) -> None:
    """How the board is reached, overriding the board file (docs/boards.md, "Reaching a board")."""
    g = parser.add_argument_group("board connection")
    g.add_argument(
        "--device",
        default=None,
        metavar="URL",
        help="serial device or pyserial URL (/dev/ttyACM0, socket://HOST:PORT, rfc2217://HOST:PORT); "
        "a QEMU or host board is then not launched but attached to",
    )
    g.add_argument(
        "--serial-number",
        default=None,
        metavar="SN",
        help="pick the USB serial port with this serial number; also passed to the flash command",
    )
    g.add_argument(
        "--vid-pid",
        type=vid_pid,
        default=None,
        metavar="VVVV:PPPP",
        help="pick the one USB serial port with this vendor:product id (hex)",
    )
    g.add_argument("--baud", type=positive_int, default=None, help="baud rate (default: board file)")


def vid_pid(text: str) -> str:
    """``VVVV:PPPP`` in hex, checked before anything is built."""
    from ..boards.ports import PortSelectionError, parse_vid_pid

    try:
        parse_vid_pid(text)
    except PortSelectionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def connection_from_args(args: argparse.Namespace):
    """The ``--device``/``--serial-number``/``--vid-pid``/``--baud`` overrides as a Connection."""
    from ..boards.ports import Connection

    return Connection(device=args.device, serial_number=args.serial_number, vid_pid=args.vid_pid, baud=args.baud)


def run_checked(args: argparse.Namespace, plan, x: list, labels: dict, model_path, default_work: Path) -> int:
    """Run the HIL job, print the summary, write JUnit/JSON; exit code 0 only on PASS.

    ``x``: one float array per plan input; ``labels``: by output name (may be empty)."""
    from ..hil import HilJob, run_hil, write_json, write_junit

    streaming = bool(getattr(args, "streaming", False))
    if streaming:
        from ..streaming import step_plan

        step_plan(plan)  # a plan that cannot stream is refused here (StreamingError names why)
    count = len(x[0])
    n = count if args.samples is None else min(args.samples, count)
    job = HilJob(
        plan=plan,
        board=args.board,
        x=[a[:n] for a in x],
        labels={k: v[:n] for k, v in labels.items()},
        model_path=model_path,
        work_dir=args.work_dir or default_work,
        max_drop_pp=args.max_drop,
        timeout=args.timeout,
        run_timeout=args.run_timeout,
        retries=args.retries,
        progress=not args.quiet,
        connection=connection_from_args(args),
        streaming=streaming,
    )
    result = run_hil(job)
    print(result.summary())
    junit = args.junit or job.work_dir / "hil-junit.xml"
    json_path = args.json or job.work_dir / "hil-result.json"
    write_junit(junit, result)
    write_json(json_path, result)
    print(f"results: {json_path}, {junit}")
    return 0 if result.passed else 1


def run(args: argparse.Namespace) -> int:
    from ..plan import load_plan

    plan = load_plan(args.plan)
    x, labels = load_plan_data(args.data, plan)
    return run_checked(args, plan, x, labels, args.model, Path(args.plan).parent / f"hil-{Path(args.board).name}")
