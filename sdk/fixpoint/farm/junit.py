"""The run's JUnit XML (one testcase per job) and JSON summary, written atomically."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import asdict
from pathlib import Path

from ..fileio import atomic_write_bytes, atomic_write_text
from .jobs import FAILED, NOT_RUN, PASSED, PENDING, JobResult, RunInfo


def write_farm_junit(path: Path, info: RunInfo, results: list[JobResult]) -> Path:
    """FAILED -> <failure> (a mismatch, an accuracy drop) or <error> (no result: timeout, crash);
    NOT RUN and PENDING -> <skipped> with the reason, so no job is ever reported as passed unseen."""
    failed = [r for r in results if r.verdict == FAILED]
    suite = ET.Element(
        "testsuite",
        name=f"fixpoint-farm.{info.farm}",
        tests=str(len(results)),
        failures=str(sum(1 for r in failed if r.stage == "hil" and r.mismatches)),
        errors=str(sum(1 for r in failed if not (r.stage == "hil" and r.mismatches))),
        skipped=str(sum(1 for r in results if r.verdict in (NOT_RUN, PENDING))),
        time=f"{sum(r.wall_seconds for r in results):.3f}",
        timestamp=info.started,
    )
    props = ET.SubElement(suite, "properties")
    for name, value in (("run_id", info.run_id), ("commit", info.commit), ("version", info.version)):
        ET.SubElement(props, "property", name=name, value=value)
    for r in results:
        case = ET.SubElement(
            suite, "testcase", classname=f"{r.board}.{r.model}", name=r.config, time=f"{r.wall_seconds:.3f}"
        )
        case_props = ET.SubElement(case, "properties")
        for name, value in (
            ("board", r.board),
            ("unit", r.unit),
            ("model", r.model),
            ("config", r.config),
            ("model_hash", r.model_hash),
            ("source_hash", r.source_hash),
            ("build_id", r.build_id),
            ("samples", r.n_samples),
            ("bit_exact", r.bit_exact),
            ("mismatches", r.mismatches),
            ("failures", r.failures),
            ("count_per_inference", "" if r.instructions is None else f"{r.instructions:.0f}"),
            ("counter_unit", r.counter_unit),
            ("log", r.log_path),
        ):
            ET.SubElement(case_props, "property", name=name, value=str(value))
        if r.verdict == FAILED:
            kind = "failure" if r.stage == "hil" and r.mismatches else "error"
            ET.SubElement(case, kind, message=f"stage {r.stage}: {r.reason}"[:500]).text = r.reason
        elif r.verdict != PASSED:
            ET.SubElement(case, "skipped", message=f"{r.verdict}: {r.reason or 'not started'}")
    data = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return atomic_write_bytes(path, data)


def write_summary_json(path: Path, info: RunInfo, results: list[JobResult], quarantined: dict[str, str]) -> Path:
    counts = {v: sum(1 for r in results if r.verdict == v) for v in (PASSED, FAILED, NOT_RUN, PENDING)}
    data = {"run": asdict(info), "counts": counts, "quarantined": quarantined, "jobs": [r.as_dict() for r in results]}
    return atomic_write_text(path, json.dumps(data, indent=1))
