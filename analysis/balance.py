"""What each app host served behind the balancer, per level (issue 18; docs/design.md, "Balance").

Input: ``results/<run>/lb/<lb host>.json``, the balancer's access log counted per second on its host
(roles/lb/files/lab_lb_counts.py): ``backends`` {"<address:port>": weight} and ``counts`` [[epoch second,
"<address:port>", status, requests], ...]. A run without a balancer has no such file and every column below
is unknown (NaN / <NA>).

tidy.csv gains BALANCE_COLUMNS, from the seconds wholly inside each level's [start_ms, end_ms]:
  lb_requests              requests the balancer logged in those seconds (every app host's, every client's)
  lb_fair_share_min_pct    the least served app host's share of them, as a percentage of its fair share
  lb_fair_share_max_pct    the most served one's (fair share: its weight over the sum of the weights)
  lb_unbalanced            some app host's share is off its fair share by more than UNBALANCED_TOLERANCE
                           (an app host that served nothing while the others did counts at 0 %)
The shares are of the whole point: several clients' rows of one point carry the same values. While the
scale-out curve measures a framework on the first N app hosts (its record's metadata.app_hosts), the fair
shares are among those N, in the order the balancer lists its backends (the app group's): the others served
nothing by design.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.resources import any_known

LB_DIR = "lb"
BALANCE_COLUMNS = ("lb_requests", "lb_fair_share_min_pct", "lb_fair_share_max_pct", "lb_unbalanced")
# Off its fair share by more than a quarter of it (issue 18's +/-25 % of an equal share).
UNBALANCED_TOLERANCE = 0.25
# Fewer requests than this in a level say nothing about the balance.
MIN_REQUESTS = 100


@dataclass(frozen=True)
class BalancerCounts:
    """Every balancer's counts of the run: one row per second x app host x status, and the weights."""

    counts: pd.DataFrame  # second, backend, status, requests, lb
    weights: Mapping[str, int]  # {"<address:port>": weight}, every balancer's app hosts, in its order
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def per_second(self) -> pd.DataFrame:
        """Requests per epoch second (index) and backend (columns), every status; empty without counts."""
        if self.counts.empty:
            return pd.DataFrame()
        return self.counts.groupby(["second", "backend"])["requests"].sum().unstack(fill_value=0)


def whole_seconds(seconds: np.ndarray, start_ms: float, end_ms: float) -> np.ndarray:
    """Which of the epoch seconds lie wholly inside [start_ms, end_ms] (a level's window)."""
    return (seconds * 1000 >= start_ms) & ((seconds + 1) * 1000 <= end_ms)


def _empty_counts() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "second": pd.Series(dtype="int64"),
            "backend": pd.Series(dtype="str"),
            "status": pd.Series(dtype="int64"),
            "requests": pd.Series(dtype="int64"),
            "lb": pd.Series(dtype="str"),
        }
    )


def parse_counts(document: Mapping[str, Any], lb: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """One balancer's file as rows and weights; ValueError naming the field when it is not that file."""
    counts, backends = document.get("counts"), document.get("backends")
    if not isinstance(counts, list) or not isinstance(backends, Mapping):
        raise ValueError("not a balancer's counts (no counts list or backends object)")
    rows = []
    for entry in counts:
        if not (isinstance(entry, list) and len(entry) == 4):
            raise ValueError(f"count {entry!r} is not [second, backend, status, requests]")
        second, backend, status, requests = entry
        rows.append((int(second), str(backend), int(status), int(requests), lb))
    weights = {str(k): int(v) for k, v in backends.items()}
    if not rows:
        return _empty_counts(), weights
    return pd.DataFrame(rows, columns=["second", "backend", "status", "requests", "lb"]), weights


def load_balancer_counts(run_dir: Path) -> BalancerCounts:
    """Every lb/<host>.json of the run; an unreadable file is a warning and is left out."""
    frames, weights, warnings = [], {}, []
    for path in sorted((run_dir / LB_DIR).glob("*.json")):
        try:
            frame, backends = parse_counts(json.loads(path.read_text(encoding="utf-8")), path.stem)
        except (OSError, ValueError) as error:
            warnings.append(f"{path.relative_to(run_dir)}: {error}; the balance per app host is unknown")
            continue
        frames.append(frame)
        weights.update(backends)
    counts = pd.concat(frames, ignore_index=True) if frames else _empty_counts()
    return BalancerCounts(counts, weights, tuple(warnings))


def level_balance(
    tidy: pd.DataFrame, balancer: BalancerCounts, app_hosts: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """BALANCE_COLUMNS for every tidy row (same index). app_hosts: {framework: N} of the frameworks measured
    on the first N app hosts only (the scale-out curve)."""
    per_second = balancer.per_second()
    ordered = list(balancer.weights)
    seconds = per_second.index.to_numpy(dtype="float64")
    records = []
    for framework, start, end in zip(tidy["framework"], tidy["start_ms"], tidy["end_ms"], strict=True):
        backends = ordered[: (app_hosts or {}).get(str(framework), len(ordered))]
        fair = np.array([balancer.weights[b] for b in backends], dtype="float64")
        fair = fair / fair.sum() if len(fair) else fair
        record: dict[str, Any] = {
            "lb_requests": math.nan,
            "lb_fair_share_min_pct": math.nan,
            "lb_fair_share_max_pct": math.nan,
            "lb_unbalanced": pd.NA,
        }
        if len(per_second) and backends:
            inside = per_second[whole_seconds(seconds, float(start), float(end))]
            served = np.array([inside[b].sum() if b in inside else 0 for b in backends], dtype="float64")
            # Requests to hosts the balancer was not told of (a retry's "-") count in the total only.
            total = float(inside.to_numpy().sum())
            record["lb_requests"] = total
            if total >= MIN_REQUESTS:
                ratio = served / total / fair * 100.0
                record["lb_fair_share_min_pct"] = float(ratio.min())
                record["lb_fair_share_max_pct"] = float(ratio.max())
                record["lb_unbalanced"] = bool((np.abs(ratio - 100.0) > UNBALANCED_TOLERANCE * 100.0).any())
        records.append(record)
    frame = pd.DataFrame.from_records(records, columns=list(BALANCE_COLUMNS), index=tidy.index)
    return frame.astype({"lb_requests": "float64", "lb_unbalanced": "boolean"})


def add_level_balance(
    tidy: pd.DataFrame, balancer: BalancerCounts, app_hosts: Mapping[str, int] | None = None
) -> pd.DataFrame:
    """tidy with BALANCE_COLUMNS appended (replaced when present)."""
    base = tidy.drop(columns=[c for c in BALANCE_COLUMNS if c in tidy.columns])
    return pd.concat([base, level_balance(base, balancer, app_hosts)], axis=1)


SUMMARY_COLUMNS = ("lb_fair_share_min_pct", "lb_fair_share_max_pct", "lb_unbalanced")


def level_summary(tidy: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per keys group: the least and the most served app host's share of its fair share over every
    repeat (the extremes: a share is not averaged away), unbalanced when any repeat was."""
    if tidy.empty or not set(BALANCE_COLUMNS) <= set(tidy.columns):
        frame = pd.DataFrame(columns=[*keys, *SUMMARY_COLUMNS])
        return frame.astype({"lb_fair_share_min_pct": "float64", "lb_fair_share_max_pct": "float64",
                             "lb_unbalanced": "boolean"})  # fmt: skip
    summary = tidy.groupby(keys, as_index=False).agg(
        lb_fair_share_min_pct=("lb_fair_share_min_pct", "min"),
        lb_fair_share_max_pct=("lb_fair_share_max_pct", "max"),
        lb_unbalanced=("lb_unbalanced", any_known),
    )
    return summary.astype({"lb_unbalanced": "boolean"})
