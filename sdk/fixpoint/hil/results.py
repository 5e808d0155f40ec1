"""HIL results and their JUnit XML / JSON forms (written atomically)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..fileio import atomic_write_bytes, atomic_write_text


@dataclass
class SampleMismatch:
    """One sample whose board output differs from the simulation."""

    sample: int
    differing_bytes: int
    first_index: int
    board_value: int
    sim_value: int
    first_layer: str | None = None  # first layer whose output differs, when localized
    detail: str = ""
    output: str = ""  # the model output holding the first differing byte
    differing_outputs: list[str] = field(default_factory=list)  # every output with a differing byte
    step: int | None = None  # streaming: the first step that diverged
    diverged: str = ""  # streaming: "outputs", "state" or "outputs+state"


@dataclass
class OutputCheck:
    """One model output over all samples: bit-exactness and accuracy."""

    name: str
    bytes_per_sample: int
    bit_exact: int = 0  # samples whose every byte of this output matched
    board_top1: float | None = None  # against this output's labels
    float_top1: float | None = None
    drop_pp: float | None = None
    agreement: float | None = None  # board top-1 == float top-1


@dataclass
class SampleFailure:
    """A sample that ended without a proven result: reported, never guessed."""

    sample: int
    kind: str  # BoardTimeout, BoardProtocolError, BoardReset, BoardCrashed, NotRun
    reason: str


@dataclass
class HilResult:
    board: str
    model_name: str
    model_hash: str
    n_samples: int
    bit_exact: int  # samples whose every output byte matched
    mismatches: list[SampleMismatch] = field(default_factory=list)
    failures: list[SampleFailure] = field(default_factory=list)  # no proven result
    completed: list[int] = field(default_factory=list)  # samples with a board output
    link: dict[str, float] = field(default_factory=dict)  # the client's LinkStats
    board_top1: float | None = None  # accuracy of board outputs against labels
    float_top1: float | None = None  # float model on the same samples
    drop_pp: float | None = None  # float_top1 - board_top1, percentage points
    agreement: float | None = None  # board argmax == float argmax
    max_drop_pp: float = 1.0
    counter_unit: str = ""
    count_mean: float = 0.0  # per inference (instructions on QEMU)
    count_min: int = 0
    count_max: int = 0
    wall_seconds: float = 0.0
    samples_per_second: float = 0.0
    link_bytes: int = 0  # payload bytes in both directions
    link_bytes_per_second: float = 0.0  # payload bytes per second of transfer time
    transfer_seconds: float = 0.0  # time spent loading inputs and reading outputs
    link_share: float = 0.0  # transfer time / wall time
    firmware: str = ""
    flash_bytes: int = 0
    ram_bytes: int = 0
    arena_bytes: int = 0
    outputs: list[OutputCheck] = field(default_factory=list)  # every model output, plan order

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.failures and self.accuracy_ok

    @property
    def accuracy_ok(self) -> bool:
        drops = [o.drop_pp for o in self.outputs] or [self.drop_pp]
        return all(d is None or d <= self.max_drop_pp for d in drops)

    def summary(self) -> str:
        exact_ok = not self.mismatches and not self.failures
        lines = [
            f"board {self.board}: {self.bit_exact}/{self.n_samples} samples bit-exact "
            f"with the host simulation ({'PASS' if exact_ok else 'FAIL'})"
        ]
        if self.failures:
            lines.append(f"  {len(self.failures)} samples without a result (link or board failure):")
            lines += [f"  sample {f.sample} on {self.board}: {f.kind}: {f.reason}" for f in self.failures[:10]]
            if len(self.failures) > 10:
                lines.append(f"  ... and {len(self.failures) - 10} more")
        recovered = {
            k: v
            for k, v in self.link.items()
            if k in ("retries", "polls", "reloads", "reruns", "resets_detected") and v
        }
        if recovered:
            lines.append("link recovered transparently: " + ", ".join(f"{k} {int(v)}" for k, v in recovered.items()))
        if self.board_top1 is not None and self.float_top1 is not None:
            lines.append(
                f"accuracy: board {self.board_top1 * 100:.2f}%  float {self.float_top1 * 100:.2f}%  "
                f"drop {self.drop_pp:.2f} pp (budget {self.max_drop_pp:.2f}) "
                f"({'PASS' if self.accuracy_ok else 'FAIL'})"
            )
        elif self.board_top1 is not None:
            lines.append(f"accuracy: board {self.board_top1 * 100:.2f}% (no float model given)")
        if self.agreement is not None:
            lines.append(f"argmax agreement with float: {self.agreement * 100:.2f}%")
        if len(self.outputs) > 1:
            lines += [
                f"  output '{o.name}': {o.bit_exact}/{self.n_samples} bit-exact{_accuracy_text(o)}"
                for o in self.outputs
            ]
        lines.append(
            f"speed: {self.samples_per_second:.1f} samples/s; "
            f"link {self.link_bytes_per_second / 1000:.1f} kB/s "
            f"while transferring ({self.link_share * 100:.0f}% of the time); "
            f"{self.count_mean:.0f} {self.counter_unit} per inference"
        )
        for m in self.mismatches[:10]:
            where = f", first diverging layer '{m.first_layer}'" if m.first_layer else ""
            out = f"output '{m.output}'" if m.output else "output"
            if m.step is not None:
                out = f"step {m.step}: {m.diverged} diverged, first at {m.output or 'output'}"
            lines.append(
                f"  sample {m.sample}: {m.differing_bytes} bytes differ, first at {out}[{m.first_index}] "
                f"board {m.board_value} != sim {m.sim_value}{where}{' ' + m.detail if m.detail else ''}"
            )
        if len(self.mismatches) > 10:
            lines.append(f"  ... and {len(self.mismatches) - 10} more mismatching samples")
        return "\n".join(lines)


def _accuracy_text(o: OutputCheck) -> str:
    parts = []
    if o.board_top1 is not None:
        parts.append(f"board top-1 {o.board_top1 * 100:.2f}%")
    if o.drop_pp is not None:
        parts.append(f"drop {o.drop_pp:.2f} pp")
    if o.agreement is not None:
        parts.append(f"agreement with float {o.agreement * 100:.2f}%")
    return ("; " + ", ".join(parts)) if parts else ""


def _worst_drop(result: HilResult) -> tuple[str, float]:
    drops = [(o.name, o.drop_pp) for o in result.outputs if o.drop_pp is not None]
    if not drops:
        return ("output", result.drop_pp or 0.0)
    return max(drops, key=lambda item: item[1])


def write_json(path: str | Path, result: HilResult) -> Path:
    data = asdict(result)
    data["passed"] = result.passed
    return atomic_write_text(path, json.dumps(data, indent=1))


def write_junit(path: str | Path, result: HilResult) -> Path:
    """One test case per sample (bit-exactness) plus one for the accuracy budget."""
    suite = ET.Element(
        "testsuite",
        name=f"fixpoint-hil.{result.board}",
        tests=str(result.n_samples + 1 + (len(result.outputs) if len(result.outputs) > 1 else 0)),
        failures=str(
            len(result.mismatches)
            + (0 if result.accuracy_ok else 1)
            + (len({o for m in result.mismatches for o in m.differing_outputs}) if len(result.outputs) > 1 else 0)
        ),
        errors=str(len(result.failures)),
        time=f"{result.wall_seconds:.3f}",
    )
    by_sample = {m.sample: m for m in result.mismatches}
    failed = {f.sample: f for f in result.failures}
    per_sample = result.wall_seconds / max(result.n_samples, 1)
    for i in range(result.n_samples):
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"{result.board}.{result.model_name}",
            name=f"sample_{i:05d}_bit_exact",
            time=f"{per_sample:.4f}",
        )
        if i in failed:
            ET.SubElement(case, "error", message=f"{failed[i].kind}: no result from the board").text = failed[i].reason
        if i in by_sample:
            m = by_sample[i]
            ET.SubElement(
                case,
                "failure",
                message=f"{m.differing_bytes} output bytes differ"
                + (f"; first diverging layer {m.first_layer}" if m.first_layer else ""),
            ).text = f"first at {m.output or 'output'}[{m.first_index}]: board {m.board_value} != sim {m.sim_value}"
    for out in result.outputs if len(result.outputs) > 1 else []:
        case = ET.SubElement(
            suite, "testcase", classname=f"{result.board}.{result.model_name}", name=f"output_{out.name}_bit_exact"
        )
        bad = [m.sample for m in result.mismatches if out.name in m.differing_outputs]
        if bad:
            ET.SubElement(case, "failure", message=f"output '{out.name}' differs in {len(bad)} samples").text = (
                "samples " + ", ".join(map(str, bad[:20]))
            )
    case = ET.SubElement(suite, "testcase", classname=f"{result.board}.{result.model_name}", name="accuracy")
    if not result.accuracy_ok:
        name, drop = _worst_drop(result)
        ET.SubElement(
            case,
            "failure",
            message=f"accuracy drop of output '{name}' {drop:.2f} pp exceeds {result.max_drop_pp:.2f} pp",
        )
    data = ET.tostring(ET.ElementTree(suite).getroot(), encoding="utf-8", xml_declaration=True)
    return atomic_write_bytes(path, data)
