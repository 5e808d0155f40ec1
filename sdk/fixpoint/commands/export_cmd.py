"""``fixpoint export``: a plan's quantization for other tools (ONNX QDQ, AIMET encodings 1.0.0, CTable)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ._common import existing_file


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export", help="write a plan's quantization as an ONNX QDQ model, AIMET encodings or a CTable (docs/interop.md)"
    )
    parser.add_argument("--plan", type=existing_file, required=True, help="plan.fxplan")
    parser.add_argument(
        "--model",
        type=existing_file,
        default=None,
        help="the float ONNX model the plan was made from (qdq and aimet; for a QDQ import, "
        "the float_model.onnx next to the plan)",
    )
    parser.add_argument("--format", choices=("qdq", "aimet", "ctable"), required=True)
    parser.add_argument("-o", "--out", type=Path, required=True, help="output file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..fileio import atomic_write_bytes, atomic_write_text
    from ..ir import ModelError
    from ..plan import load_plan

    plan = load_plan(args.plan)
    if args.format == "ctable":
        from ..ctable import build_ctable, read_ctable, write_ctable

        beside = Path(args.plan).parent / "ctable.json"
        table = read_ctable(beside) if beside.is_file() else build_ctable(plan, {})
        write_ctable(args.out, table)
    else:
        model = args.model or _default_model(Path(args.plan))
        if model is None:
            raise ModelError(f"{args.plan}: --model is needed (the float ONNX model the plan was made from)")
        from ..interop.export import export_aimet, export_qdq

        if args.format == "qdq":
            atomic_write_bytes(args.out, export_qdq(plan, model).SerializeToString())
        else:
            atomic_write_text(args.out, json.dumps(export_aimet(plan, model), indent=1) + "\n")
    print(f"{args.format}: {args.out}")
    return 0


def _default_model(plan_path: Path) -> Path | None:
    beside = plan_path.parent / "float_model.onnx"
    return beside if beside.is_file() else None
