"""``--format oneline``: one line per model, every total the run computed, ``name=value``."""

from __future__ import annotations

from analyzer import Reporter


def _line(label: str, report) -> str:
    totals = " ".join(f"{k}={v}" for k, v in report.totals.items() if isinstance(v, int | float))
    devices = " ".join(f"{h.device}.latency_s={h.latency_s:.6g}" for h in report.hardware)
    return f"{label}: {totals}" + (f" {devices}" if devices else "") + "\n"


class OneLine(Reporter):
    name = "oneline"

    def render_report(self, report, *, color=False, width=None, depth=None, **options):
        return _line(report.model.get("name") or "model", report)

    def render_comparison(self, comparison, *, color=False, width=None, depth=None, **options):
        return "".join(_line(label, r) for label, r in zip(comparison.labels, comparison.reports, strict=True))
