"""Each host's share of each level (issue 18, point 3): resources/levels.csv, one row per point x host.

tidy.csv has one value per tier (the app hosts' mean CPU, say); with several app hosts behind a balancer the
question is also which host did what. Per point (framework, test type, level, repeat) and sampled host, from
the samples wholly inside the point's window (the latest start and the earliest end of its clients' runs,
analysis.resources' rule):

  cpu_busy_pct        the host's busy CPU, % of all its cores
  cpu_ms_per_s        CPU milliseconds it spent per second of the level (busy x cores)
  served_rps          app hosts: the requests per second it served; behind a balancer from the balancer's
                      counts (analysis.balance, the level's whole seconds), else (one app host) the point's
                      requests/s; NaN for the other tiers
  cpu_ms_per_1k_req   app hosts: cpu_ms_per_s / served_rps x 1000, the CPU one app host spent per 1,000 of
                      the requests it served

The balancer lists its app hosts in the app group's order (run.json's ``hosts.app``): that order names them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import pandas as pd

from analysis.balance import BalancerCounts, whole_seconds
from analysis.resources import POINT_KEYS, host_tiers

HOST_LEVELS_FILE = "resources/levels.csv"
HOST_LEVEL_COLUMNS = (
    *POINT_KEYS,
    "host",
    "tier",
    "cpu_busy_pct",
    "cpu_ms_per_s",
    "served_rps",
    "cpu_ms_per_1k_req",
)


def _served_per_second(balancer: BalancerCounts, app_hosts: Sequence[str]) -> pd.DataFrame:
    """Requests per epoch second (index) and app host (columns), from the balancer's counts."""
    backends = list(balancer.weights)
    if balancer.counts.empty or len(backends) != len(app_hosts):
        return pd.DataFrame()
    names = dict(zip(backends, app_hosts, strict=True))
    per_second = balancer.per_second()
    return per_second[[b for b in per_second.columns if b in names]].rename(columns=names)


def host_levels(
    tidy: pd.DataFrame, samples: pd.DataFrame, hosts: Mapping[str, Sequence[str]], balancer: BalancerCounts
) -> pd.DataFrame:
    """HOST_LEVEL_COLUMNS, one row per point of tidy x sampled host (empty without samples)."""
    if tidy.empty or samples.empty:
        return pd.DataFrame(columns=list(HOST_LEVEL_COLUMNS))
    tiers = host_tiers(hosts)
    app_hosts = [str(h) for h in hosts.get("app", [])]
    served = _served_per_second(balancer, app_hosts)
    seconds = served.index.to_numpy(dtype="float64")
    busy = samples["cpu_user_pct"] + samples["cpu_system_pct"]
    begin = samples["time_ms"] - samples["interval_s"] * 1000.0
    points = tidy.groupby(POINT_KEYS, sort=True).agg(
        start_ms=("start_ms", "max"), end_ms=("end_ms", "min"), rps=("requestsPerSecond", "sum")
    )
    rows = []
    for key, point in points.iterrows():
        start, end = float(point["start_ms"]), float(point["end_ms"])
        inside = (begin >= start) & (samples["time_ms"] <= end)
        whole = whole_seconds(seconds, start, end)
        for host, group in samples[inside].groupby("host", sort=True):
            host = str(host)
            busy_pct = float(busy[group.index].mean())
            cpu_ms = busy_pct / 100.0 * float(group["cores"].max()) * 1000.0
            rps = math.nan
            if host in app_hosts:
                if len(served.columns) and whole.any():
                    rps = float(served.loc[whole, host].mean()) if host in served else 0.0
                elif len(app_hosts) == 1:
                    rps = float(point["rps"])
            rows.append(
                {
                    **dict(zip(POINT_KEYS, cast(tuple[Any, ...], key), strict=True)),
                    "host": host,
                    "tier": tiers.get(host, ""),
                    "cpu_busy_pct": busy_pct,
                    "cpu_ms_per_s": cpu_ms,
                    "served_rps": rps,
                    "cpu_ms_per_1k_req": cpu_ms / rps * 1000.0 if rps > 0 else math.nan,
                }
            )
    frame = pd.DataFrame(rows, columns=list(HOST_LEVEL_COLUMNS))
    return frame.astype({"served_rps": "float64", "cpu_ms_per_1k_req": "float64"})
