"""One run directory, loaded once: ``load_run(run_dir)`` reads everything the analysis uses from
``results/<run-id>/`` into a ``Run``, and every consumer (summarize, the reports, compare, outcome) takes that
object instead of reading files itself.

What a run directory holds is described in README.md ("Results"). Loading never fails on a bad or missing
file: each reader leaves what it could not use out and says why in ``Run.warnings`` (a run directory that
does not exist is the one error, RunLoadError). The per-file readers stay where their format is defined
(analysis.run_meta, events, raw_files, resources, balance, environment); this module is the only caller that
points them at a run directory.

The frames of a Run are shared by everything that takes it: consumers derive new frames and never change
them in place.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from analysis.balance import BalancerCounts, load_balancer_counts
from analysis.ceiling import CEILING_FRAMEWORK
from analysis.environment import ENVIRONMENT_FILE, load_environment
from analysis.events import SUPERSEDED_EVENTS_FILE, attach_events, load_events
from analysis.raw_files import RawPoint, load_raw_points
from analysis.resources import ResourceLoad, load_resources
from analysis.run_meta import load_frameworks, load_run_json
from analysis.tidy import build_tidy
from labcore.histogram import Histogram

# A resumed run's later segments each keep their own environment record (playbooks/environment.yml).
_RESUME_ENVIRONMENT = re.compile(r"environment-resume-(\d+)\.json")
SAVED_TIDY_FILE = "tidy.csv"
VERIFY_DIR = "verify"
VERIFY_SUMMARY_FILE = "summary.json"


class RunLoadError(ValueError):
    """The run directory itself is unusable (it does not exist); the message names it."""


@dataclass(frozen=True)
class LoadWarnings:
    """What could not be used, per source, in the order the source was read."""

    run: tuple[str, ...] = ()  # run.json
    frameworks: tuple[str, ...] = ()  # frameworks/<framework>.json
    events: tuple[str, ...] = ()  # events.jsonl
    raw: tuple[str, ...] = ()  # raw/ (skipped or partial points)
    resources: tuple[str, ...] = ()  # resources/raw/ (sampler output)
    environment: tuple[str, ...] = ()  # environment.json
    other: tuple[str, ...] = ()  # environment-resume-<n>.json, events-superseded.jsonl, verify/, tidy.csv

    @property
    def loading(self) -> tuple[str, ...]:
        """The warnings ``summarize`` prints first: the run's own records and its raw points."""
        return (*self.run, *self.frameworks, *self.events, *self.raw)


@dataclass(frozen=True)
class EnvironmentSegment:
    """The environment record of one segment of the run: 0 is the first (environment.json), n the n-th
    resume (environment-resume-<n>.json)."""

    segment: int
    file: str
    hosts: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Verification:
    """One framework's verification output under verify/<framework>/: its files (relative to the run
    directory) and the grades file summary.json (None when absent or unreadable)."""

    files: tuple[PurePosixPath, ...]
    summary: Mapping[str, Any] | None


@dataclass(frozen=True)
class Run:
    """Everything the analysis uses of one run directory."""

    run_dir: Path
    meta: Mapping[str, Any]  # run.json ({} when missing)
    frameworks: Mapping[str, Mapping[str, Any]]  # frameworks/<fw>.json, each with its events attached
    events: tuple[Mapping[str, Any], ...]  # events.jsonl, in file order
    superseded_events: tuple[Mapping[str, Any], ...]  # events a resume measured again (analysis.resume)
    points: tuple[RawPoint, ...]  # every complete point under raw/, primers and warm-ups included
    tidy: pd.DataFrame  # analysis.tidy's frame of the level points (no resource columns)
    saved_tidy: pd.DataFrame | None  # tidy.csv as the last summarize wrote it (None: never summarized)
    resources: ResourceLoad  # every host's samples, from resources/raw/
    balancer: BalancerCounts  # what each app host served per second, from lb/ (empty without a balancer)
    environment: Mapping[str, Mapping[str, Any]]  # environment.json: {host: record}
    environment_segments: tuple[EnvironmentSegment, ...]  # every segment's record that could be read
    verification: Mapping[str, Verification]  # {framework: its verify/<framework>/ output}
    files: tuple[PurePosixPath, ...]  # every file of the run directory (relative), sorted
    warnings: LoadWarnings

    @property
    def run_id(self) -> str:
        return str(self.meta.get("run_id") or self.run_dir.name)

    @property
    def hosts(self) -> Mapping[str, Sequence[str]]:
        """run.json's hosts per tier: {"db": [...], "app": [...], "client": [...]}."""
        hosts = self.meta.get("hosts")
        return hosts if isinstance(hosts, Mapping) else {}

    @property
    def client_hosts(self) -> tuple[str, ...]:
        """The client hosts of the run (run.json), then any other client the points name."""
        named = [str(h) for h in self.hosts.get("client", [])]
        measured = sorted({str(c) for c in self.tidy["client"]} - set(named))
        return (*named, *measured)

    @property
    def histograms(self) -> dict[str, Histogram]:
        """The whole latency histogram of every open-loop point, by its source (tidy's column)."""
        return {p.stem: p.open_loop.histogram for p in self.points if p.open_loop is not None}

    @property
    def ceiling_measured(self) -> bool:
        """The run measured the hardware ceiling (analysis.ceiling) at some level."""
        return bool((self.tidy["framework"] == CEILING_FRAMEWORK).any())

    def has_file(self, path: str) -> bool:
        return PurePosixPath(path) in self.files


def _run_files(run_dir: Path) -> tuple[PurePosixPath, ...]:
    # Sorted as paths (part by part), the order the report has always listed raw/ in.
    found = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*") if p.is_file())
    return tuple(PurePosixPath(p.as_posix()) for p in found)


def _read_json(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_text(encoding="utf-8")), None
    except (OSError, ValueError) as exc:
        return None, f"{path}: unreadable ({exc})"


def _environment_segments(
    run_dir: Path, first: Mapping[str, Mapping[str, Any]], files: Sequence[PurePosixPath]
) -> tuple[tuple[EnvironmentSegment, ...], list[str]]:
    segments = [EnvironmentSegment(0, ENVIRONMENT_FILE, first)] if first else []
    warnings: list[str] = []
    resumes = sorted(
        (int(match.group(1)), str(path))
        for path in files
        if len(path.parts) == 1 and (match := _RESUME_ENVIRONMENT.fullmatch(path.name))
    )
    for number, name in resumes:
        value, problem = _read_json(run_dir / name)
        if problem is None and not (
            isinstance(value, dict) and all(isinstance(r, dict) for r in value.values())
        ):
            problem = f"{run_dir / name}: not an object of host records"
        if problem is not None:
            warnings.append(problem)
            continue
        segments.append(EnvironmentSegment(number, name, value))
    return tuple(segments), warnings


def _verification(run_dir: Path, files: Sequence[PurePosixPath]) -> tuple[dict[str, Verification], list[str]]:
    by_framework: dict[str, list[PurePosixPath]] = {}
    for path in files:
        if len(path.parts) >= 3 and path.parts[0] == VERIFY_DIR:
            by_framework.setdefault(path.parts[1], []).append(path)
    verification: dict[str, Verification] = {}
    warnings: list[str] = []
    for framework, found in sorted(by_framework.items()):
        summary_path = PurePosixPath(VERIFY_DIR, framework, VERIFY_SUMMARY_FILE)
        summary = None
        if summary_path in found:
            value, problem = _read_json(run_dir / summary_path)
            if problem is not None:
                warnings.append(problem)
            elif isinstance(value, dict):
                summary = value
        verification[framework] = Verification(tuple(found), summary)
    return verification, warnings


def _saved_tidy(run_dir: Path, files: Sequence[PurePosixPath]) -> tuple[pd.DataFrame | None, list[str]]:
    if PurePosixPath(SAVED_TIDY_FILE) not in files:
        return None, []
    path = run_dir / SAVED_TIDY_FILE
    try:
        return pd.read_csv(path), []
    except (OSError, ValueError) as exc:
        return None, [f"{path}: unreadable ({exc})"]


def load_run(run_dir: Path) -> Run:
    """Read the run directory once (see the module's docstring); RunLoadError when it is not a directory."""
    if not run_dir.is_dir():
        raise RunLoadError(f"{run_dir}: no such run directory")
    files = _run_files(run_dir)
    meta, run_warnings = load_run_json(run_dir)
    own, framework_warnings = load_frameworks(run_dir)
    events, event_warnings = load_events(run_dir)
    superseded, superseded_warnings = load_events(run_dir, SUPERSEDED_EVENTS_FILE)
    raw = load_raw_points(run_dir)
    run_id = str(meta.get("run_id") or run_dir.name)
    resources = load_resources(run_dir, meta.get("hosts") or {})
    balancer = load_balancer_counts(run_dir)
    environment, environment_warnings = load_environment(run_dir)
    segments, segment_warnings = _environment_segments(run_dir, environment, files)
    verification, verify_warnings = _verification(run_dir, files)
    saved_tidy, tidy_warnings = _saved_tidy(run_dir, files)
    return Run(
        run_dir=run_dir,
        meta=meta,
        frameworks=attach_events(own, events),
        events=tuple(events),
        superseded_events=tuple(superseded),
        points=tuple(raw.points),
        tidy=build_tidy(raw.points, run_id=run_id),
        saved_tidy=saved_tidy,
        resources=resources,
        balancer=balancer,
        environment=environment,
        environment_segments=segments,
        verification=verification,
        files=files,
        warnings=LoadWarnings(
            run=tuple(run_warnings),
            frameworks=tuple(framework_warnings),
            events=tuple(event_warnings),
            raw=tuple(raw.warnings),
            resources=(*resources.warnings, *balancer.warnings),
            environment=tuple(environment_warnings),
            other=(*segment_warnings, *superseded_warnings, *verify_warnings, *tidy_warnings),
        ),
    )
