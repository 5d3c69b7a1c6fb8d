"""k6's per-sample stream of one open-loop point, reduced to the lab's report (docs/load-generators.md).

k6 runs wrk_scripts/open_loop.js with ``--out csv=FILE.csv.gz``: one row per metric sample (metric_name,
timestamp, metric_value, error_code, status, ...; the column order comes from the header). ``reduce()`` is a
pure function of those lines and returns the object lab_wrk_run.py saves as ``<stem>.json``: the keys of
wrk_scripts/report.lua's report (requests, duration_us, bytes, errors, latency_us), so a point reads the
same whichever generator measured it, plus

    histogram_us   the whole latency histogram (labcore/histogram.py), merged over clients by the analysis
    open_loop      offered_rps (this client's schedule), iterations (started on schedule), dropped_iterations
                   (due while every VU was busy: never sent), achieved_rps, per_second (iterations that
                   ended in each whole second of the point), vus_max

The latency of a request is its iteration's duration: it counts from the instant the schedule started it, so
it includes waiting for a connection, the connect itself and the answer. Errors by k6's error code
(https://grafana.com/docs/k6/latest/javascript-api/error-codes/): 1400-1599 are answers with a 4xx or 5xx
status (status errors, as wrk counts them), 1050 a request timeout, 1210-1219 a failed connect, 1201 a failed
write, any other code a failed read. Standard library only: it runs on the client.
"""

from __future__ import annotations

import csv
import gzip
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from labcore.histogram import Histogram

# report.lua's percentiles: the same keys whichever generator measured the point.
PERCENTILES = ("50", "75", "90", "99", "99.9", "99.99")
_READ = {"iteration_duration", "http_reqs", "data_received", "dropped_iterations", "vus_max"}
TIMEOUT_CODE = 1050
WRITE_CODE = 1201
CONNECT_CODES = range(1210, 1220)
STATUS_CODES = range(1400, 1600)
# A point that started fewer than this share of its scheduled requests fell behind (its generator did not keep
# the schedule): the analysis flags it, the SLO search does not count it as a pass.
BEHIND_SHARE = 0.98


def fell_behind(achieved_rps: float, offered_rps: float) -> bool:
    """Whether a point's generator did not keep its schedule (see BEHIND_SHARE)."""
    return achieved_rps < BEHIND_SHARE * offered_rps


class K6ReportError(ValueError):
    """The stream is not k6's CSV output; the message says what is missing."""


def _error_kind(code: int) -> str:
    if code in STATUS_CODES:
        return "status"
    if code == TIMEOUT_CODE:
        return "timeout"
    if code in CONNECT_CODES:
        return "connect"
    if code == WRITE_CODE:
        return "write"
    return "read"


def _latency(histogram: Histogram) -> dict[str, Any]:
    """report.lua's latency_us; zeros when nothing ended, as report.lua writes them (JSON has no NaN)."""
    if not histogram.total:
        return {
            "min": 0.0,
            "max": 0.0,
            "mean": 0.0,
            "stdev": 0.0,
            "percentiles": dict.fromkeys(PERCENTILES, 0.0),
        }
    return {
        "min": histogram.min,
        "max": histogram.max,
        "mean": histogram.mean,
        "stdev": histogram.stdev,
        "percentiles": {p: histogram.percentile(float(p)) for p in PERCENTILES},
    }


def reduce(lines: Iterable[str], *, offered_rps: float, duration_s: float, wall_us: int) -> dict[str, Any]:
    """The report of one point from k6's CSV lines (see the module docstring).

    offered_rps: this client's scheduled rate; duration_s: the configured duration (achieved_rps divides by
    it, as the closed-loop requests per second do); wall_us: how long k6 really ran (duration_us).
    """
    rows: Iterator[list[str]] = csv.reader(iter(lines))
    header = next(rows, None)
    if header is None:
        raise K6ReportError("the sample stream is empty (no header)")
    try:
        name_at, time_at, value_at = (header.index(c) for c in ("metric_name", "timestamp", "metric_value"))
        code_at, status_at = header.index("error_code"), header.index("status")
    except ValueError as exc:
        raise K6ReportError(f"not k6's CSV output: the header {header!r} lacks a column ({exc})") from exc
    histogram = Histogram()
    errors = dict.fromkeys(("connect", "read", "write", "status", "timeout"), 0)
    per_second: Counter[int] = Counter()
    requests = received = dropped = vus_max = 0
    for row in rows:
        if not row or row[name_at] not in _READ:
            continue
        name = row[name_at]
        value = float(row[value_at])
        if name == "iteration_duration":
            histogram.record(value * 1000.0)  # k6 writes milliseconds
            per_second[int(row[time_at])] += 1
        elif name == "http_reqs":
            requests += 1
            code = row[code_at]
            if code:
                errors[_error_kind(int(code))] += 1
            elif int(row[status_at] or 0) > 399:
                errors["status"] += 1
        elif name == "data_received":
            received += int(value)
        elif name == "dropped_iterations":
            dropped += int(value)
        else:
            vus_max = max(vus_max, int(value))
    if not requests:
        raise K6ReportError("k6 sent no request (no http_reqs sample)")
    seconds = sorted(per_second)
    return {
        "requests": requests,
        "duration_us": wall_us,
        "bytes": received,
        "errors": errors,
        "latency_us": _latency(histogram),
        "histogram_us": histogram.to_dict(),
        "open_loop": {
            "offered_rps": offered_rps,
            "iterations": histogram.total,
            "dropped_iterations": dropped,
            "achieved_rps": histogram.total / duration_s if duration_s > 0 else 0.0,
            "per_second": [per_second[s] for s in range(seconds[0], seconds[-1] + 1)] if seconds else [],
            "vus_max": vus_max,
        },
    }


def reduce_file(path: Path, *, offered_rps: float, duration_s: float, wall_us: int) -> dict[str, Any]:
    """reduce() of a saved stream, gzip-compressed when its name ends in .gz."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="") as handle:
        return reduce(handle, offered_rps=offered_rps, duration_s=duration_s, wall_us=wall_us)
