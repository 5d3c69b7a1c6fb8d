"""The files the analysis writes into a run directory: the one place the CLI's results reach the disk.

summarize's products (analysis.summarize.SUMMARY_FILES) and the run's report (report.html and its plots
under plots/). Everything written here was computed in memory first, from the loaded run.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis.host_levels import HOST_LEVELS_FILE
from analysis.plots import PLOTS_DIR, write_plots
from analysis.report import REPORT_NAME, RunReport
from analysis.scaleout import SCALEOUT_FILE
from analysis.slo import SLO_FILE
from analysis.summarize import (
    CLIENTS_FILE,
    PER_CORE_FILE,
    RESULTS_FILE,
    SAMPLES_FILE,
    SUMMARY_FILE,
    TIDY_FILE,
    Summary,
)


def write_summary(run_dir: Path, summary: Summary) -> Path:
    """Write tidy.csv, clients.csv, resources/*.csv (samples, cores, levels), summary.csv, scaleout.csv,
    slo.csv (when the run searched) and results.json; returns results.json."""
    summary.tidy.to_csv(run_dir / TIDY_FILE, index=False)
    summary.clients.to_csv(run_dir / CLIENTS_FILE, index=False)
    (run_dir / SAMPLES_FILE).parent.mkdir(parents=True, exist_ok=True)
    summary.samples.to_csv(run_dir / SAMPLES_FILE, index=False)
    summary.per_core.to_csv(run_dir / PER_CORE_FILE, index=False)
    summary.host_levels.to_csv(run_dir / HOST_LEVELS_FILE, index=False)
    summary.summary.to_csv(run_dir / SUMMARY_FILE, index=False)
    summary.scaleout.to_csv(run_dir / SCALEOUT_FILE, index=False)
    if len(summary.slo):
        summary.slo.to_csv(run_dir / SLO_FILE, index=False)
    results_path = run_dir / RESULTS_FILE
    results_path.write_text(json.dumps(summary.results, indent=2) + "\n", encoding="utf-8")
    return results_path


def write_report(run_dir: Path, report: RunReport) -> Path:
    """Write the plots (PNG and SVG under plots/) and report.html; returns the report's path."""
    write_plots(report.plots, run_dir / PLOTS_DIR)
    path = run_dir / REPORT_NAME
    path.write_text(report.html, encoding="utf-8")
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
