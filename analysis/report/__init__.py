"""The HTML reports, as pure functions of loaded runs: one self-contained ``report.html`` per run, and a
comparison of two runs.

A run's report (analysis/templates/report.html.j2) shows the run's settings and environment, the
verification grades, the summary tables of every test type (sortable in the browser), the plots
(analysis.plots, embedded as PNG data URIs; the CLI also keeps the PNG and SVG files under ``plots/``), errors
and warnings, and relative links to the files of the run directory. It is made from the Run (analysis.run)
and the Summary summarize derived from it (analysis.summarize): nothing is read from disk here.

The comparison report (compare.html.j2) puts two runs side by side (analysis.report.comparison).

Modules: formatting (values, times, links), summary_table (a test type's sortable table), context (what
the run's report shows), comparison (what the comparison shows), html (the templates).
"""

from __future__ import annotations

from dataclasses import dataclass

from analysis.plots import RenderedPlot, render_plot, run_plots
from analysis.report.comparison import comparison_context
from analysis.report.context import report_context, report_test_types
from analysis.report.html import render
from analysis.run import Run
from analysis.slo import SLO_FILE, slo_settings
from analysis.summarize import SUMMARY_FILES, Summary

REPORT_NAME = "report.html"


@dataclass(frozen=True)
class RunReport:
    """A run's report: the HTML and the plots it embeds (written under plots/ beside it)."""

    html: str
    plots: tuple[RenderedPlot, ...]


def run_report(run: Run, summary: Summary) -> RunReport:
    """The report of a summarized run; its links assume the run directory holds summarize's files."""
    order = report_test_types(run, summary.summary)
    target = slo_settings(run.meta)
    figures = run_plots(
        summary.tidy,
        summary.summary,
        summary.samples,
        order,
        summary.scaleout,
        summary.slo,
        target[0] if target else None,
    )
    plots = tuple(render_plot(plot) for plot in figures)
    written = (SLO_FILE,) if len(summary.slo) else ()
    present = frozenset({*(str(p) for p in run.files), *SUMMARY_FILES, *written})
    context = report_context(
        run,
        summary.tidy,
        summary.summary,
        plots,
        summary.report_warnings,
        present,
        summary.scaleout,
        summary.slo,
    )
    return RunReport(render("report.html.j2", context), plots)


def comparison_report(a: Run, b: Run) -> str:
    """The HTML comparing run A (the baseline) with run B."""
    return render("compare.html.j2", comparison_context(a, b))


__all__ = ["REPORT_NAME", "RunReport", "comparison_report", "run_report"]
