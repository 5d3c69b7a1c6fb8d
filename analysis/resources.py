"""Resource use of every host (sysstat), per second and per level.

Input: ``results/<run>/resources/raw/<host>/<segment>.sa.json`` (``sadf -j`` of one sadc segment, written on
the host by lab-sampler) and ``<segment>.start.json`` (when that sadc started). A run has one segment per host
and start (a resumed run adds one).

Outputs (docs/design.md, "Resources"):
  resources/samples.csv       one row per host x second (SAMPLE_COLUMNS)
  resources/cpu_per_core.csv  one row per host x second x core (PER_CORE_COLUMNS)
  tidy.csv gains LEVEL_COLUMNS: the resource use of each level, from the samples fully inside its window.

Times. sadf prints each sample's time truncated to the second; lab-sampler takes every sample on an absolute
schedule half a second past a whole second, so a sample printed as T was taken at T + phase (phase = the
start's milliseconds, 500), and time_ms is that instant: the END of the sample's interval (sadf's interval,
1 s, or 2 s after a slot the sampler skipped). A sample belongs to a level when its whole
interval [time_ms - interval, time_ms] lies inside the level's [start_ms, end_ms] (the meta file's).

CPU percentages are shares of ALL the host's cores (100 = every core busy). user = usr + nice + guest +
gnice, system = sys + irq + soft, busy = user + system (steal and iowait are not work done by the host).
Network figures are summed over every interface of the host's network namespace, loopback included: on a
one-machine lab every byte crosses lo.
"""

from __future__ import annotations

import calendar
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TIERS = ("db", "app", "client", "upstream", "lb")
# The one place the flags' thresholds are defined (documented in docs/design.md, "Resources").
CLIENT_SATURATED_CPU_PCT = (
    90.0  # the client host's busy CPU at or above this: the load generator was the limit
)
DB_BOUND_CPU_PCT = 90.0  # the db host's busy CPU at or above this ...
DB_BOUND_IOWAIT_PCT = 20.0  # ... or its iowait at or above this: the database was the limit

SAMPLE_COLUMNS = (
    "host",
    "tier",
    "time_ms",
    "cpu_user_pct",
    "cpu_system_pct",
    "cpu_iowait_pct",
    "cpu_idle_pct",
    "mem_used_bytes",
    "net_rx_bytes_s",
    "net_tx_bytes_s",
    "net_rx_packets_s",
    "net_tx_packets_s",
    "cswch_s",
    "cpu_steal_pct",
    "cores",
    "interval_s",
    "segment",
)
PER_CORE_COLUMNS = (
    "host",
    "time_ms",
    "core",
    "cpu_user_pct",
    "cpu_system_pct",
    "cpu_iowait_pct",
    "cpu_idle_pct",
)
LEVEL_COLUMNS = (
    "app_cpu_pct",
    "lb_cpu_pct",
    "db_cpu_pct",
    "db_iowait_pct",
    "client_cpu_pct",
    "app_cpu_ms_per_1k_req",
    "client_saturated",
    "db_bound",
    "resource_samples",
    "client_shares_host",
)
POINT_KEYS = ["framework", "test_type", "level", "repeat"]


class ResourceDataError(ValueError):
    """A sadf JSON file that cannot be read as sysstat output; the message names the file and the field."""


@dataclass
class ResourceLoad:
    samples: pd.DataFrame
    per_core: pd.DataFrame
    warnings: list[str] = field(default_factory=list)


def host_tiers(hosts: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """{host: "db+app+client"} from run.json's hosts ({"db": [...], "app": [...], "client": [...]}, and the
    optional "upstream" and "lb")."""
    tiers: dict[str, list[str]] = {}
    for tier in TIERS:
        for host in hosts.get(tier, []):
            tiers.setdefault(str(host), []).append(tier)
    return {host: "+".join(names) for host, names in tiers.items()}


def _user(cpu: Mapping[str, Any]) -> float:
    return sum(float(cpu.get(k, 0.0)) for k in ("usr", "nice", "guest", "gnice"))


def _system(cpu: Mapping[str, Any]) -> float:
    return sum(float(cpu.get(k, 0.0)) for k in ("sys", "irq", "soft"))


def _epoch_s(stamp: Mapping[str, Any], where: str) -> int:
    if stamp.get("utc") != 1:
        raise ResourceDataError(f"{where}: timestamp is not UTC ({stamp}); convert with sadf -j without -t")
    try:
        parsed = time.strptime(f"{stamp['date']} {stamp['time']}", "%Y-%m-%d %H:%M:%S")
    except (KeyError, ValueError) as exc:
        raise ResourceDataError(f"{where}: bad timestamp {stamp!r}") from exc
    return calendar.timegm(parsed)


def parse_sadf_json(
    document: Mapping[str, Any],
    host: str,
    tier: str,
    segment: str,
    phase_ms: int,
    where: str = "",
    interval_s: float = 1.0,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of samples.csv and cpu_per_core.csv from one decoded ``sadf -j`` document.

    interval_s is the sampler's interval, used where sadf prints 0 (it rounds the measured interval down).
    """
    try:
        sysstat_host = document["sysstat"]["hosts"][0]
        statistics = sysstat_host["statistics"]
    except (KeyError, IndexError, TypeError) as exc:
        raise ResourceDataError(f"{where}: not sadf -j output (no sysstat.hosts[0].statistics)") from exc
    cores = int(sysstat_host.get("number-of-cpus") or 0) or math.nan
    samples: list[dict[str, Any]] = []
    per_core: list[dict[str, Any]] = []
    for index, stat in enumerate(statistics):
        cpus = stat.get("cpu-load")
        if not cpus:  # a record sadc wrote for a restart or a comment has no measurements
            continue
        stamp = stat.get("timestamp", {})
        time_ms = _epoch_s(stamp, f"{where} statistics[{index}]") * 1000 + phase_ms
        interval = float(stamp.get("interval") or interval_s)
        total = next((c for c in cpus if c.get("cpu") == "all"), None)
        if total is None:
            raise ResourceDataError(f"{where} statistics[{index}]: cpu-load has no 'all' entry")
        net = (stat.get("network") or {}).get("net-dev") or []
        memory = stat.get("memory") or {}
        switches = stat.get("process-and-context-switch") or {}
        samples.append(
            {
                "host": host,
                "tier": tier,
                "time_ms": time_ms,
                "cpu_user_pct": _user(total),
                "cpu_system_pct": _system(total),
                "cpu_iowait_pct": float(total.get("iowait", 0.0)),
                "cpu_idle_pct": float(total.get("idle", 0.0)),
                "mem_used_bytes": float(memory["memused"]) * 1024 if "memused" in memory else math.nan,
                "net_rx_bytes_s": sum(float(i.get("rxkB", 0.0)) for i in net) * 1024,
                "net_tx_bytes_s": sum(float(i.get("txkB", 0.0)) for i in net) * 1024,
                "net_rx_packets_s": sum(float(i.get("rxpck", 0.0)) for i in net),
                "net_tx_packets_s": sum(float(i.get("txpck", 0.0)) for i in net),
                "cswch_s": float(switches["cswch"]) if "cswch" in switches else math.nan,
                "cpu_steal_pct": float(total.get("steal", 0.0)),
                "cores": cores,
                "interval_s": interval,
                "segment": segment,
            }
        )
        per_core.extend(
            {
                "host": host,
                "time_ms": time_ms,
                "core": int(cpu["cpu"]),
                "cpu_user_pct": _user(cpu),
                "cpu_system_pct": _system(cpu),
                "cpu_iowait_pct": float(cpu.get("iowait", 0.0)),
                "cpu_idle_pct": float(cpu.get("idle", 0.0)),
            }
            for cpu in cpus
            if str(cpu.get("cpu")).isdigit()
        )
    return samples, per_core


def _start_record(start_file: Path) -> tuple[int, float, str | None]:
    """(phase ms, interval s) of a segment from its start record, and a warning when it is unreadable."""
    try:
        record = json.loads(start_file.read_text(encoding="utf-8"))
        return int(record["start_ms"]) % 1000, float(record.get("interval_s") or 1), None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return 0, 1.0, f"{start_file}: unreadable ({exc}); sample times of this segment are known to 1 s only"


def load_resources(run_dir: Path, hosts: Mapping[str, Sequence[str]]) -> ResourceLoad:
    """Every host's samples under run_dir/resources/raw/, sorted by host and time; warnings for the gaps."""
    raw_dir = run_dir / "resources" / "raw"
    tiers = host_tiers(hosts)
    samples: list[dict[str, Any]] = []
    per_core: list[dict[str, Any]] = []
    warnings: list[str] = []
    if not raw_dir.is_dir():
        warnings.append(f"{raw_dir}: no resource samples (was the run made before sampling existed?)")
    else:
        for host_dir in sorted(p for p in raw_dir.iterdir() if p.is_dir()):
            host = host_dir.name
            files = sorted(host_dir.glob("*.sa.json"))
            unconverted = [
                p.name for p in sorted(host_dir.glob("*.sa")) if not p.with_name(p.name + ".json").exists()
            ]
            if unconverted:
                warnings.append(f"{host_dir}: {', '.join(unconverted)} not converted by sadf (left out)")
            if not files:
                warnings.append(f"{host_dir}: no *.sa.json (sampler data not converted?)")
            for path in files:
                segment = path.name.removesuffix(".sa.json")
                phase, interval, problem = _start_record(host_dir / f"{segment}.start.json")
                if problem:
                    warnings.append(problem)
                try:
                    document = json.loads(path.read_text(encoding="utf-8"))
                    rows, cores = parse_sadf_json(
                        document, host, tiers.get(host, ""), segment, phase, str(path), interval
                    )
                except (OSError, ValueError) as exc:  # ResourceDataError and JSONDecodeError are ValueErrors
                    warnings.append(f"{path}: skipped ({exc})")
                    continue
                samples.extend(rows)
                per_core.extend(cores)
    for host in tiers:
        if not any(row["host"] == host for row in samples):
            warnings.append(f"host {host} ({tiers[host]}): no resource samples")
    frame = pd.DataFrame.from_records(samples, columns=list(SAMPLE_COLUMNS))
    frame = frame.sort_values(["host", "time_ms"], kind="stable")
    frame = frame.drop_duplicates(["host", "time_ms"]).reset_index(drop=True)
    cores_frame = pd.DataFrame.from_records(per_core, columns=list(PER_CORE_COLUMNS))
    cores_frame = cores_frame.sort_values(["host", "time_ms", "core"], kind="stable")
    cores_frame = cores_frame.drop_duplicates(["host", "time_ms", "core"]).reset_index(drop=True)
    return ResourceLoad(frame, cores_frame, warnings)


@dataclass(frozen=True)
class _HostSeries:
    end_ms: np.ndarray  # sorted sample times (end of each interval)
    begin_ms: np.ndarray  # start of each interval
    busy: np.ndarray
    iowait: np.ndarray
    cores: float


def _series(samples: pd.DataFrame) -> dict[str, _HostSeries]:
    series = {}
    for host, rows in samples.groupby("host", sort=True):
        end = rows["time_ms"].to_numpy(dtype="float64")
        series[str(host)] = _HostSeries(
            end_ms=end,
            begin_ms=end - rows["interval_s"].to_numpy(dtype="float64") * 1000.0,
            busy=(rows["cpu_user_pct"] + rows["cpu_system_pct"]).to_numpy(dtype="float64"),
            iowait=rows["cpu_iowait_pct"].to_numpy(dtype="float64"),
            cores=float(rows["cores"].max()),
        )
    return series


def _inside(series: _HostSeries, start_ms: float, end_ms: float) -> np.ndarray:
    return (series.begin_ms >= start_ms) & (series.end_ms <= end_ms)


def _mean_or_nan(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else math.nan


def level_resources(
    tidy: pd.DataFrame,
    samples: pd.DataFrame,
    hosts: Mapping[str, Sequence[str]],
    serving: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """LEVEL_COLUMNS for every tidy row (same index), from the samples fully inside the row's window.

    app, db and lb values are means over the tier's hosts (lb: NaN without a balancer); client values are the
    row's own client host. serving: {framework: N} of the frameworks the scale-out curve measured on the first
    N app hosts (analysis.scaleout): their app values are over those N, not the idle others.
    app_cpu_ms_per_1k_req divides the app hosts' CPU time by the requests of ALL clients of the point.
    """
    series = _series(samples) if len(samples) else {}
    every_app_host = list(hosts.get("app", []))
    db_hosts = [h for h in hosts.get("db", []) if h in series]
    lb_hosts = [h for h in hosts.get("lb", []) if h in series]
    point_rps = (
        tidy.groupby(POINT_KEYS)["requestsPerSecond"].transform("sum").to_numpy(dtype="float64")
        if len(tidy)
        else np.array([])
    )
    windows = zip(
        tidy["framework"].astype(str).tolist(),
        tidy["start_ms"].to_numpy(dtype="float64"),
        tidy["end_ms"].to_numpy(dtype="float64"),
        tidy["client"].astype(str).tolist(),
        strict=True,
    )
    records = []
    for position, (framework, start, end, client) in enumerate(windows):
        serving_hosts = every_app_host[: (serving or {}).get(framework, len(every_app_host))]
        app_hosts = [h for h in serving_hosts if h in series]
        sampled = {*app_hosts, *db_hosts, *lb_hosts, client} & set(series)
        masks = {h: _inside(series[h], start, end) for h in sampled}
        app_busy = [_mean_or_nan(series[h].busy[masks[h]]) for h in app_hosts]
        app_busy_known = [b for b in app_busy if not math.isnan(b)]
        db_busy = [_mean_or_nan(series[h].busy[masks[h]]) for h in db_hosts]
        db_iowait = [_mean_or_nan(series[h].iowait[masks[h]]) for h in db_hosts]
        client_busy = _mean_or_nan(series[client].busy[masks[client]]) if client in masks else math.nan
        lb_busy = [b for b in (_mean_or_nan(series[h].busy[masks[h]]) for h in lb_hosts) if not math.isnan(b)]
        app_pct = float(np.nanmean(app_busy)) if app_busy_known else math.nan
        db_pct = float(np.nanmean(db_busy)) if any(not math.isnan(b) for b in db_busy) else math.nan
        db_io = float(np.nanmean(db_iowait)) if any(not math.isnan(b) for b in db_iowait) else math.nan
        rps = float(point_rps[position])
        app_cpu_ms_per_s = sum(
            b / 100.0 * series[h].cores * 1000.0
            for h, b in zip(app_hosts, app_busy, strict=True)
            if not math.isnan(b)
        )
        per_1k = app_cpu_ms_per_s / rps * 1000.0 if app_busy_known and rps > 0 else math.nan
        counts = [int(mask.sum()) for mask in masks.values()]
        records.append(
            {
                "app_cpu_pct": app_pct,
                "lb_cpu_pct": float(np.mean(lb_busy)) if lb_busy else math.nan,
                "db_cpu_pct": db_pct,
                "db_iowait_pct": db_io,
                "client_cpu_pct": client_busy,
                "app_cpu_ms_per_1k_req": per_1k,
                "client_saturated": pd.NA
                if math.isnan(client_busy)
                else client_busy >= CLIENT_SATURATED_CPU_PCT,
                "db_bound": pd.NA
                if math.isnan(db_pct)
                else bool(
                    db_pct >= DB_BOUND_CPU_PCT or (not math.isnan(db_io) and db_io >= DB_BOUND_IOWAIT_PCT)
                ),
                "resource_samples": min(counts) if counts else 0,
                "client_shares_host": client in hosts.get("app", []) or client in hosts.get("db", []),
            }
        )
    frame = pd.DataFrame.from_records(records, columns=list(LEVEL_COLUMNS), index=tidy.index)
    return frame.astype(
        {
            "client_saturated": "boolean",
            "db_bound": "boolean",
            "resource_samples": "int64",
            "client_shares_host": "bool",
        }
    )


def add_level_resources(
    tidy: pd.DataFrame,
    samples: pd.DataFrame,
    hosts: Mapping[str, Sequence[str]],
    serving: Mapping[str, int] | None = None,
) -> pd.DataFrame:
    """tidy with LEVEL_COLUMNS appended (replaced when present)."""
    base = tidy.drop(columns=[c for c in LEVEL_COLUMNS if c in tidy.columns])
    return pd.concat([base, level_resources(base, samples, hosts, serving)], axis=1)


def resource_warnings(tidy: pd.DataFrame) -> list[str]:
    """One line when levels have no resource sample inside them (too short, or hosts not sampled)."""
    if "resource_samples" not in tidy.columns or tidy.empty:
        return []
    missing = tidy[tidy["resource_samples"] == 0]
    if missing.empty:
        return []
    examples = ", ".join(
        f"{row.framework}/{row.test_type} level {row.level} repeat {row.repeat}"
        for row in missing.head(3).itertuples(index=False)
    )
    return [
        f"{len(missing)} of {len(tidy)} level(s) have no resource sample fully inside them ({examples}"
        f"{', ...' if len(missing) > 3 else ''}): a level needs >= 2 s, and every host a sampler"
    ]


SUMMARY_COLUMNS = (
    "app_cpu_pct",
    "lb_cpu_pct",
    "db_cpu_pct",
    "client_cpu_pct",
    "app_cpu_ms_per_1k_req",
    "client_saturated",
    "db_bound",
    "client_shares_host",
)


def any_known(values: pd.Series) -> object:
    """A flag over several rows: set when any known row has it, unknown (<NA>) when no row is known."""
    known = values.dropna()
    return pd.NA if known.empty else bool(known.astype(bool).any())


def level_summary(tidy: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """One row per keys group: resource SUMMARY_COLUMNS, medians over repeats (the busiest client per repeat
    for client_cpu_pct); a flag is set when any repeat or client had it."""
    # The balancer's column came later: a tidy frame written before it has none (no balancer then either).
    if "lb_cpu_pct" not in tidy.columns:
        tidy = tidy.assign(lb_cpu_pct=math.nan)
    if tidy.empty or not set(LEVEL_COLUMNS) <= set(tidy.columns):
        frame = pd.DataFrame(columns=[*keys, *SUMMARY_COLUMNS])
        return frame.astype(
            {"client_saturated": "boolean", "db_bound": "boolean", "client_shares_host": "bool"}
        )
    per_repeat = tidy.groupby([*keys, "repeat"], as_index=False).agg(
        app_cpu_pct=("app_cpu_pct", "mean"),
        lb_cpu_pct=("lb_cpu_pct", "mean"),
        db_cpu_pct=("db_cpu_pct", "mean"),
        client_cpu_pct=("client_cpu_pct", "max"),
        app_cpu_ms_per_1k_req=("app_cpu_ms_per_1k_req", "mean"),
        client_saturated=("client_saturated", any_known),
        db_bound=("db_bound", any_known),
        client_shares_host=("client_shares_host", "any"),
    )
    summary = per_repeat.groupby(keys, as_index=False).agg(
        app_cpu_pct=("app_cpu_pct", "median"),
        lb_cpu_pct=("lb_cpu_pct", "median"),
        db_cpu_pct=("db_cpu_pct", "median"),
        client_cpu_pct=("client_cpu_pct", "median"),
        app_cpu_ms_per_1k_req=("app_cpu_ms_per_1k_req", "median"),
        client_saturated=("client_saturated", any_known),
        db_bound=("db_bound", any_known),
        client_shares_host=("client_shares_host", "any"),
    )
    return summary.astype({"client_saturated": "boolean", "db_bound": "boolean"})
