"""The SLO search: the highest offered rate a framework serves with its p99 under a target (issue 20).

For one framework and test type, after its sweep: open-loop probes (labcore/sweep.py, phase ``slo``), each a
normal point at one offered rate for the whole lab, chosen by bisection from what the earlier probes gave:

    first probe     the type's closed-loop peak (its best requests/s over the levels just measured)
    a probe passes  p99 <= p99_ms, errors under error_pct % of the requests, and the generator kept its
                    schedule (a probe whose requests were not all sent proves nothing about that rate)
    next            while nothing failed: 1.5 x the highest pass; while nothing passed: half the lowest
                    failure; then the middle of the highest pass and the lowest failure above it
    stop            when that interval is within ``precision`` of the failure (2 %), or after max_steps

The sequence depends on the probes' results only, so a resumed run that kept the finished probes (their raw
files) replays it and probes what is left. Standard library only: the clients import labcore too.

    python3 -m labcore.slo peak DIR     # {level: requests/s} of this client's finished level points in DIR
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labcore.histogram import Histogram, merged
from labcore.k6_report import fell_behind

GROWTH = 1.5
PRECISION = 0.02
STEM_PREFIX = "slo-o"


@dataclass(frozen=True)
class Probe:
    rate: int  # offered requests/s, whole lab
    p99_ms: float
    error_pct: float
    behind: bool  # the generator did not keep its schedule

    def passes(self, p99_ms: float, error_pct: float) -> bool:
        return not self.behind and self.p99_ms <= p99_ms and self.error_pct < error_pct


def stem(rate: int) -> str:
    return f"{STEM_PREFIX}{int(rate)}-r1"


def _bounds(probes: Sequence[Probe], p99_ms: float, error_pct: float) -> tuple[int | None, int | None]:
    passed = [p.rate for p in probes if p.passes(p99_ms, error_pct)]
    low = max(passed) if passed else None
    failed = [p.rate for p in probes if not p.passes(p99_ms, error_pct) and (low is None or p.rate > low)]
    return low, (min(failed) if failed else None)


def next_rate(
    probes: Sequence[Probe],
    *,
    start_rps: float,
    p99_ms: float,
    error_pct: float,
    max_steps: int,
    precision: float = PRECISION,
) -> int | None:
    """The next rate to probe, or None when the search is over (see the module docstring)."""
    if len(probes) >= max_steps:
        return None
    if not probes:
        return max(1, round(start_rps))
    low, high = _bounds(probes, p99_ms, error_pct)
    if high is None:
        assert low is not None
        candidate = math.ceil(low * GROWTH)
    elif low is None:
        if high <= 1:
            return None
        candidate = high // 2
    else:
        if (high - low) <= precision * high or high - low <= 1:
            return None
        candidate = (low + high) // 2
    probed = {p.rate for p in probes}
    return None if candidate in probed or candidate < 1 else candidate


def found(probes: Sequence[Probe], p99_ms: float, error_pct: float) -> int | None:
    """The search's answer: the highest rate that passed (None: none did)."""
    return _bounds(probes, p99_ms, error_pct)[0]


def probe_from(
    rate: int, histograms: Iterable[Histogram], requests: int, errors: int, offered: float, achieved: float
) -> Probe:
    """One probe from its clients' figures: histograms merged, counts and rates summed over the clients."""
    union = merged(histograms)
    return Probe(
        rate=int(rate),
        p99_ms=union.percentile(99) / 1000 if union.total else math.inf,
        error_pct=100.0 * errors / requests if requests else 100.0,
        behind=fell_behind(achieved, offered),
    )


def probe_of(rate: int, reports: Iterable[Mapping[str, Any]]) -> Probe:
    """One probe from every client's report of it (labcore/k6_report.py)."""
    reports = list(reports)
    if not reports:
        raise ValueError(f"probe at {rate}/s: no client report")
    return probe_from(
        rate,
        (Histogram.from_dict(r["histogram_us"]) for r in reports),
        requests=sum(int(r["requests"]) for r in reports),
        errors=sum(int(v) for r in reports for v in r["errors"].values()),
        offered=sum(float(r["open_loop"]["offered_rps"]) for r in reports),
        achieved=sum(float(r["open_loop"]["achieved_rps"]) for r in reports),
    )


def level_rates(directory: Path) -> dict[str, float]:
    """Requests per configured second of every finished level point in one client's directory of a type."""
    rates: dict[str, float] = {}
    for meta_path in sorted(directory.glob("*.meta.json")):
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            report = json.loads(
                meta_path.with_name(meta_path.name.replace(".meta.json", ".json")).read_text()
            )
        except (OSError, ValueError):
            continue
        if meta.get("phase") != "level" or meta.get("exit_code") != 0 or not meta.get("duration_s"):
            continue
        level = str(meta["level"])
        rates[level] = max(rates.get(level, 0.0), int(report["requests"]) / float(meta["duration_s"]))
    return rates


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m labcore.slo", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    peak = commands.add_parser("peak", help="requests/s of each finished level point in a directory")
    peak.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(level_rates(args.directory), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
