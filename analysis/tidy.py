"""The tidy frame: one row per framework x test_type x level x repeat x client, measured points only.

Every output of the analysis (tidy.csv, summary.csv, the tables, results.json) is a view of this frame.
Only points with ``phase == "level"`` are rows (primer and warm-up runs are not measurements).

Columns
  identity      run_id, framework, test_type, level (the sweep variable: connections, or queries per
                request for queries/updates), concurrency (this client's connections), pipeline (requests
                per send), queries (empty outside queries/updates), repeat, client, threads, url,
                source (the point's path in the run directory, without suffix)
  time          duration_s (CONFIGURED duration), start_ms, end_ms (epoch ms, from the meta file),
                wrk_duration_s (how long wrk really ran), planned_start_ms and start_late_ms (the start
                schedule of several clients and how late this client started; empty without one; merged
                over clients by analysis.clients)
  load model    load_model (closed: wrk's connections; open: k6's offered rate, docs/load-generators.md); for
                open-loop points only: offered_rps (this client's share of the level's rate), achieved_rps
                (requests started on schedule per configured second), dropped_iterations (due while every
                VU waited: never sent), generator_behind (labcore.k6_report.fell_behind: the
                server answered too slowly for the client's VUs, or the client ran out of CPU; the level's
                latencies leave out what was never sent). For an open-loop point the level is the offered
                rate of the whole lab, the concurrency the client's VUs, and the latencies count from each
                request's scheduled start (from the point's whole histogram)
  throughput    totalRequests (completed responses, timed-out ones included), requestsPerSecond =
                totalRequests / configured duration_s (docs/test-types.md §4.6 "What a level's figures
                are"), bytes
  latency       latencyAvg_ms, latencyStdev_ms, latencyMax_ms and p50_ms, p75_ms, p90_ms, p99_ms, p999_ms
                (99.9 %), p9999_ms (99.99 %), all from report.lua's JSON; latencyAvg, latencyStdev,
                latencyMax: the strings as wrk printed them (e.g. "1.23ms"; results.json wants them)
  errors        errors_connect, errors_read, errors_write, errors_timeout (socket errors), non2xx (wrk's
                "Non-2xx or 3xx responses", status > 399), has_errors (any of them non-zero)
  resources     appended by analysis.resources.add_level_resources (summarize): app_cpu_pct, db_cpu_pct,
                db_iowait_pct, client_cpu_pct, app_cpu_ms_per_1k_req, client_saturated, db_bound,
                resource_samples, client_shares_host (docs/design.md, "Resources")

Blank (NaN) numeric latency means "no per-request latency exists", in two cases:
  - pipelined points (pipeline > 1): wrk records one latency sample per batch of pipelined requests, so its
    figures are not per-request latencies. The wrk strings are kept (TFB reports them the same way).
  - points where wrk recorded no latency sample at all: no response arrived (totalRequests == 0), or every
    response came after --timeout (totalRequests == errors_timeout). wrk prints 0.00us there.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from analysis.raw_files import RawPoint
from labcore.k6_report import fell_behind

PERCENTILE_COLUMNS = {
    "50": "p50_ms",
    "75": "p75_ms",
    "90": "p90_ms",
    "99": "p99_ms",
    "99.9": "p999_ms",
    "99.99": "p9999_ms",
}
ERROR_COLUMNS = ("errors_connect", "errors_read", "errors_write", "errors_timeout", "non2xx")
LATENCY_MS_COLUMNS = ("latencyAvg_ms", "latencyStdev_ms", "latencyMax_ms", *PERCENTILE_COLUMNS.values())

TIDY_COLUMNS = (
    "run_id",
    "framework",
    "test_type",
    "level",
    "concurrency",
    "pipeline",
    "queries",
    "repeat",
    "client",
    "threads",
    "url",
    "duration_s",
    "start_ms",
    "end_ms",
    "wrk_duration_s",
    "planned_start_ms",
    "start_late_ms",
    "load_model",
    "offered_rps",
    "achieved_rps",
    "dropped_iterations",
    "generator_behind",
    "totalRequests",
    "requestsPerSecond",
    "latencyAvg_ms",
    "latencyStdev_ms",
    "latencyMax_ms",
    "latencyAvg",
    "latencyStdev",
    "latencyMax",
    *PERCENTILE_COLUMNS.values(),
    *ERROR_COLUMNS,
    "has_errors",
    "bytes",
    "source",
)
SORT_KEYS = ["framework", "test_type", "level", "repeat", "client"]
_DTYPES = {
    "level": "int64",
    "concurrency": "int64",
    "pipeline": "int64",
    "queries": "Int64",
    "repeat": "int64",
    "threads": "Int64",
    "duration_s": "float64",
    "start_ms": "int64",
    "end_ms": "int64",
    "planned_start_ms": "Int64",
    "start_late_ms": "Int64",
    "totalRequests": "int64",
    "bytes": "int64",
    "has_errors": "bool",
    "offered_rps": "float64",
    "achieved_rps": "float64",
    "dropped_iterations": "Int64",
    "generator_behind": "bool",
    **dict.fromkeys(ERROR_COLUMNS, "int64"),
}


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _row(point: RawPoint, default_run_id: str | None) -> dict[str, Any]:
    meta, report, text, schedule = point.meta, point.report, point.text, point.open_loop
    pipeline = int(meta.get("pipeline") or 1)
    duration_s = float(meta["duration_s"])
    requests = report.requests
    errors = {
        "errors_connect": report.errors_connect,
        "errors_read": report.errors_read,
        "errors_write": report.errors_write,
        "errors_timeout": report.errors_timeout,
        "non2xx": report.errors_status,
    }
    no_samples = requests - report.errors_timeout <= 0
    per_request_latency = pipeline == 1 and not no_samples

    def latency_ms(micros: float) -> float:
        return micros / 1000.0 if per_request_latency else math.nan

    row: dict[str, Any] = {
        "run_id": meta.get("run_id") or default_run_id,
        "framework": meta["framework"],
        "test_type": meta["test_type"],
        "level": int(meta["level"]),
        "concurrency": int(meta.get("concurrency") or text.connections or 0),
        "pipeline": pipeline,
        "queries": _int_or_none(meta.get("queries")),
        "repeat": int(meta["repeat"]),
        "client": str(meta["client"]),
        "threads": _int_or_none(meta.get("threads", text.threads)),
        "url": meta.get("url") or text.url,
        "duration_s": duration_s,
        "start_ms": int(meta["start_ms"]),
        "end_ms": int(meta["end_ms"]),
        "wrk_duration_s": report.duration_us / 1e6,
        "planned_start_ms": _int_or_none(meta.get("planned_start_ms")),
        "start_late_ms": _int_or_none(meta.get("start_late_ms")),
        "load_model": "open" if schedule else "closed",
        "offered_rps": schedule.offered_rps if schedule else math.nan,
        "achieved_rps": schedule.achieved_rps if schedule else math.nan,
        "dropped_iterations": schedule.dropped_iterations if schedule else None,
        "generator_behind": bool(schedule and fell_behind(schedule.achieved_rps, schedule.offered_rps)),
        "totalRequests": requests,
        "requestsPerSecond": requests / duration_s if duration_s > 0 else math.nan,
        "latencyAvg_ms": latency_ms(report.latency_mean_us),
        "latencyStdev_ms": latency_ms(report.latency_stdev_us),
        "latencyMax_ms": latency_ms(report.latency_max_us),
        "latencyAvg": text.latency_avg_str,
        "latencyStdev": text.latency_stdev_str,
        "latencyMax": text.latency_max_str,
        **{column: latency_ms(report.percentiles_us[p]) for p, column in PERCENTILE_COLUMNS.items()},
        **errors,
        "has_errors": any(errors.values()),
        "bytes": report.bytes,
        "source": point.stem,
    }
    return row


def build_tidy(points: Iterable[RawPoint], run_id: str | None = None) -> pd.DataFrame:
    """The tidy frame (columns: TIDY_COLUMNS), sorted by framework, test_type, level, repeat, client.

    run_id fills rows whose meta has none. Points whose phase is not "level", or without level, are left out.
    """
    rows = [
        _row(p, run_id) for p in points if p.meta.get("phase") == "level" and p.meta.get("level") is not None
    ]
    frame = pd.DataFrame.from_records(rows, columns=list(TIDY_COLUMNS))
    frame = frame.astype(_DTYPES)
    return frame.sort_values(SORT_KEYS, kind="stable").reset_index(drop=True)


def error_warnings(tidy: pd.DataFrame) -> list[str]:
    """One line per point with errors, e.g. "pyfix/json level 16 repeat 1 client localhost: read=9872"."""
    lines = []
    for row in tidy[tidy["has_errors"]].itertuples(index=False):
        counts = " ".join(
            f"{column.removeprefix('errors_')}={getattr(row, column)}"
            for column in ERROR_COLUMNS
            if getattr(row, column)
        )
        lines.append(
            f"{row.framework}/{row.test_type} level {row.level} repeat {row.repeat} client {row.client}: "
            f"errors {counts}"
        )
    return lines


# What a frame without the load-model columns (built before the open model, or by hand) means: closed loop.
CLOSED_LOOP_DEFAULTS: dict[str, Any] = {
    "load_model": "closed",
    "offered_rps": math.nan,
    "achieved_rps": math.nan,
    "dropped_iterations": pd.NA,
    "generator_behind": False,
}


def with_load_model(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every load-model column, the missing ones filled as a closed-loop run's."""
    missing = {c: v for c, v in CLOSED_LOOP_DEFAULTS.items() if c not in frame.columns}
    return frame.assign(**missing) if missing else frame


def sum_or_nan(values: pd.Series) -> float:
    """A sum over rows that are all empty is empty (NaN), not 0: the open-loop columns of closed points."""
    total = values.sum(min_count=1)
    return math.nan if pd.isna(total) else float(total)


def schedule_warnings(tidy: pd.DataFrame) -> list[str]:
    """One line per open-loop point whose generator fell behind its schedule."""
    lines = []
    tidy = with_load_model(tidy)
    for row in tidy[tidy["generator_behind"]].itertuples(index=False):
        lines.append(
            f"{row.framework}/{row.test_type} level {row.level} repeat {row.repeat} client {row.client}: "
            f"generator behind its schedule: {row.achieved_rps:.0f} of {row.offered_rps:.0f} requests/s "
            f"started, {row.dropped_iterations} dropped (every VU was waiting: the server answered too "
            "slowly for lab_open_vus, or the client ran out of CPU); the latencies leave out the unsent"
        )
    return lines
