"""Report sections of the precision choices: the per-tensor policy search and data-free estimates."""

from __future__ import annotations

from fixpoint.calibrate.result import CalibrationResult

from .markdown import table


def estimated_lines(calib: CalibrationResult) -> list[str]:
    """A warning that no sample was seen, when the ranges were estimated (data-free mode)."""
    if not calib.estimated:
        return []
    return [
        "## Ranges estimated, not observed",
        "",
        f"**{calib.estimated}.** The histograms below are of synthetic values, not of data; check the "
        "accuracy on real samples (`fixpoint eval`) before deploying.",
        "",
    ]


def _budget_text(s: dict) -> str:
    """The deterministic plan budget, the held-out half and the bias-correction choice (absent in old stats)."""
    parts = []
    if s.get("budget"):
        parts.append(f"budget {s['budget']} plans")
    if s.get("heldout_loss"):
        parts.append(f"moves kept only if they also lowered the held-out half's loss (now {s['heldout_loss']:.4g})")
    if s.get("bias_correction") is not None:
        verdict = "on" if s["bias_correction"] else "off"
        parts.append(f"8-bit bias correction {verdict} (loss with it {s['bias_correction_loss']:.4g})")
    if s.get("adaptive_rounding") is not None:
        verdict = "on" if s["adaptive_rounding"] else "off"
        parts.append(f"8-bit AdaRound {verdict} (loss with it {s['adaptive_rounding_loss']:.4g})")
    return "; " + "; ".join(parts) if parts else ""


def policy_search_lines(calib: CalibrationResult) -> list[str]:
    """Which candidate each tensor got, and what it gained over the default policy."""
    s = calib.search
    if not s:
        return []
    default, final = s["default_loss"], s["final_loss"]
    lines = [
        "## Policy search",
        "",
        f"Label-free, on {s['num_samples']} calibration samples: loss `{s['loss']}` of the bit-exact "
        f"simulated output against float; {s['evaluations']} plans simulated in {s['seconds']} s, "
        f"{s['sweeps_done']} sweep(s){' (time box reached)' if s['timed_out'] else ''}"
        f"{_budget_text(s)}.",
        "",
        f"* every tensor at the default `{s['default_policy']}`: loss {default:.4g}",
        f"* best single policy `{s['start']}` (the search's starting point): loss "
        f"{s['single'].get(s['start'], default):.4g}",
        f"* searched: loss {final:.4g} ({_ratio(final, default)} of the default's)",
        "",
    ]
    lines += table(["single policy", "loss"], [[k, v] for k, v in s["single"].items()]) + [""]
    rows = []
    unchanged = set(s.get("unchanged", []))
    for name, label in s["chosen"].items():
        q = calib.quant.get(name)
        gain = s["gain"].get(name)
        text = (
            "same range as the default"
            if name in unchanged
            else ("not measured (budget)" if gain is None else f"{gain:.4g}")
        )
        rows.append([name, label, "" if q is None else f"[{q.lo:.4g}, {q.hi:.4g}]", text])
    lines += [
        "Per tensor: the candidate chosen and its gain, i.e. how much the loss rises when only this "
        "tensor goes back to the default policy's range.",
        "",
    ]
    return lines + table(["tensor", "chosen", "range", "gain over default"], rows) + [""]


def _ratio(value: float, base: float) -> str:
    return f"{100 * value / base:.0f} %" if base > 0 else "-"
