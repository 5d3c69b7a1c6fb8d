"""``summarize``: a loaded run's tables and results, as a pure function of the Run (analysis.run).

It derives, in memory: the tidy frame with each level's resource use (analysis.resources), the clients of
each point merged (analysis.clients), the summary (analysis.tables), TechEmpower's results.json object
(analysis.tfb_results, validated), the text ``python -m analysis summarize`` prints, and the warnings. The
CLI writes them (analysis.outputs, SUMMARY_FILES) and hands the same Summary to the report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from analysis.balance import add_level_balance
from analysis.ceiling import CEILING_FRAMEWORK, without_ceiling
from analysis.clients import late_start_warnings, merge_clients
from analysis.environment import environment_warnings, render_environment
from analysis.events import event_lines, render_events
from analysis.host_levels import HOST_LEVELS_FILE, host_levels
from analysis.resources import add_level_resources, resource_warnings
from analysis.run import Run
from analysis.scaleout import SCALEOUT_FILE, app_hosts_of, render_scaleout, scale_out
from analysis.slo import render_slo, slo_probes, slo_results
from analysis.tables import build_summary, render_tables
from analysis.tfb_results import build_tfb_results, validate_tfb_results
from analysis.tidy import error_warnings, schedule_warnings

TIDY_FILE = "tidy.csv"
CLIENTS_FILE = "clients.csv"
SUMMARY_FILE = "summary.csv"
RESULTS_FILE = "results.json"
SAMPLES_FILE = "resources/samples.csv"
PER_CORE_FILE = "resources/cpu_per_core.csv"
# Every file a summarized run directory gains (analysis.outputs writes them).
SUMMARY_FILES = (
    TIDY_FILE,
    CLIENTS_FILE,
    SAMPLES_FILE,
    PER_CORE_FILE,
    SUMMARY_FILE,
    SCALEOUT_FILE,
    HOST_LEVELS_FILE,
    RESULTS_FILE,
)


class NoLevelData(ValueError):
    """The run has no measured level (no complete raw point with phase "level")."""


@dataclass(frozen=True)
class Summary:
    """What summarize derives from a run (the frames are never changed in place by their consumers)."""

    tidy: pd.DataFrame  # the run's tidy frame with the level resource columns
    clients: pd.DataFrame  # one row per framework x type x level x repeat, clients merged
    samples: pd.DataFrame  # resources/samples.csv
    per_core: pd.DataFrame  # resources/cpu_per_core.csv
    host_levels: pd.DataFrame  # resources/levels.csv: each host's CPU (and requests served) per point
    summary: pd.DataFrame  # summary.csv, the tables' data
    scaleout: pd.DataFrame  # scaleout.csv, the scale-out curve (empty unless the run measured one)
    slo: pd.DataFrame  # slo.csv, the SLO search's probes and answers (empty unless the run searched)
    results: Mapping[str, Any]  # results.json
    warnings: tuple[str, ...]  # what summarize warns about, after the run's loading warnings
    report_warnings: tuple[str, ...]  # the errors and warnings the report lists
    text: str  # the environment, the tables of every test type and the events, as printed


def framework_labels(frameworks: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The tables' label of each framework: its configuration (metadata display_name), e.g.
    "flask [gunicorn gevent, 4 workers, raw, nginx]"."""
    return {
        name: str((info.get("metadata") or {}).get("display_name") or name)
        for name, info in frameworks.items()
    }


def summarize(run: Run) -> Summary:
    """The Summary of a loaded run; NoLevelData when it measured no level."""
    if run.tidy.empty:
        raise NoLevelData(
            f"no usable level data under {run.run_dir / 'raw'} "
            f"({len(run.points)} complete point(s), none with phase 'level')"
        )
    warnings = [f"level with errors: {line}" for line in error_warnings(run.tidy)]
    warnings += [f"open loop: {line}" for line in schedule_warnings(run.tidy)]
    clients = merge_clients(run.tidy, run.histograms)
    warnings += [f"clients: {line}" for line in late_start_warnings(clients)]
    # The scale-out curve's targets ran on the first N app hosts: their resources and balance are over those.
    serving = app_hosts_of(run.frameworks)
    tidy = add_level_balance(
        add_level_resources(run.tidy, run.resources.samples, run.hosts, serving), run.balancer, serving
    )
    warnings += [f"resources: {line}" for line in [*run.warnings.resources, *resource_warnings(tidy)]]
    warnings += [*run.warnings.environment, *environment_warnings(run.environment, run.hosts)]

    summary = build_summary(tidy, clients)
    scaleout = scale_out(summary, run.frameworks)
    slo = slo_probes(run.points, run.meta)
    results = build_tfb_results(
        without_ceiling(tidy),
        run.meta,
        {k: v for k, v in run.frameworks.items() if k != CEILING_FRAMEWORK},
        without_ceiling(clients),
    )
    validate_tfb_results(results)
    # The lab's own section beside TechEmpower's format (validated above without it: TFB's schema).
    slo_section = slo_results(without_ceiling(slo), run.meta)
    if slo_section is not None:
        results["sloSearch"] = slo_section

    # The report lists the run's events (an app crash, a lost database) with its errors and warnings.
    report_warnings = [
        *run.warnings.loading,
        *(f"event: {line}" for line in event_lines(run.frameworks)),
        *(f"resources: {line}" for line in run.warnings.resources),
        *run.warnings.environment,
    ]
    environment_text = render_environment(run.environment)
    text = (
        (environment_text + "\n" if environment_text else "")
        + render_tables(summary, framework_labels(run.frameworks))
        + "\n"
        + (render_scaleout(scaleout) + "\n" if len(scaleout) else "")
        + (render_slo(slo, run.meta) + "\n" if len(slo) else "")
        + render_events(run.frameworks)
    )
    return Summary(
        tidy=tidy,
        clients=clients,
        samples=run.resources.samples,
        per_core=run.resources.per_core,
        host_levels=host_levels(run.tidy, run.resources.samples, run.hosts, run.balancer),
        summary=summary,
        scaleout=scaleout,
        slo=slo,
        results=results,
        warnings=tuple(warnings),
        report_warnings=tuple(report_warnings),
        text=text,
    )
