"""The scale-out curve (issue 18): requests/s against the number of app hosts behind the balancer.

A run with ``lab_app_host_counts`` measures each framework on each engine once per count N, on the first N app
hosts of the app group (playbooks/filter_plugins/lab_targets.py names them ``<target>-x<N>``); each record
(frameworks/<name>.json) says its N in ``metadata.app_hosts``. Per curve (a framework on an engine) and test
type, each N's figure is its peak: the highest mean requests/s over the type's levels (the level it was
reached at is kept), and

    efficiency(N) = rps(N) / (N x rps(1))

1.0 is perfect scaling: N app hosts serve N times what one does. Unknown (NaN) without N = 1. The flags of the
peak's level come along (an app host that was not given its share, a saturated client, errors): a curve is
only as good as its points.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

SCALEOUT_FILE = "scaleout.csv"
SCALEOUT_COLUMNS = (
    "test_type",
    "curve",
    "app_hosts",
    "framework",
    "level",
    "requestsPerSecond",
    "efficiency",
    "flags",
)


def app_hosts_of(frameworks: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """{record name: N} for the records that say how many app hosts served them."""
    counts = {}
    for name, record in frameworks.items():
        value = (record.get("metadata") or {}).get("app_hosts")
        if isinstance(value, int) and value > 0:
            counts[name] = value
    return counts


def _curve(record: Mapping[str, Any]) -> str:
    """The curve a record belongs to: its framework on its engine ("aiohttp on postgres")."""
    metadata = record.get("metadata") or {}
    return f"{metadata.get('framework') or record.get('framework')} on {metadata.get('db_engine') or '?'}"


def efficiency(rps: float, app_hosts: int, rps_one: float) -> float:
    """rps(N) / (N x rps(1)); NaN when rps(1) is unknown or nothing."""
    return rps / (app_hosts * rps_one) if rps_one > 0 else math.nan


def scale_out(summary: pd.DataFrame, frameworks: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """One row per test type x curve x N (SCALEOUT_COLUMNS); empty unless some curve has two or more N."""
    counts = app_hosts_of(frameworks)
    curves = {name: _curve(frameworks[name]) for name in counts}
    rows: list[dict[str, Any]] = []
    measured = summary[summary["framework"].isin(list(counts))]
    for (test_type, name), group in measured.groupby(["test_type", "framework"], sort=True):
        best = group.sort_values(["requestsPerSecond", "level"], ascending=[False, True], kind="stable")
        peak = best.iloc[0]
        rows.append(
            {
                "test_type": str(test_type),
                "curve": curves[str(name)],
                "app_hosts": counts[str(name)],
                "framework": str(name),
                "level": int(peak["level"]),
                "requestsPerSecond": float(peak["requestsPerSecond"]),
                "flags": str(peak["flags"] or ""),
            }
        )
    frame = pd.DataFrame(rows, columns=[c for c in SCALEOUT_COLUMNS if c != "efficiency"])
    if frame.empty or frame.groupby(["test_type", "curve"])["app_hosts"].nunique().max() < 2:
        return pd.DataFrame(columns=list(SCALEOUT_COLUMNS))
    one = frame[frame["app_hosts"] == 1].set_index(["test_type", "curve"])["requestsPerSecond"]
    frame["efficiency"] = [
        efficiency(rps, n, float(one.get((t, c), math.nan)))
        for t, c, n, rps in zip(
            frame["test_type"], frame["curve"], frame["app_hosts"], frame["requestsPerSecond"], strict=True
        )
    ]
    frame = frame.sort_values(["test_type", "curve", "app_hosts"], kind="stable").reset_index(drop=True)
    return frame[list(SCALEOUT_COLUMNS)]


def render_scaleout(frame: pd.DataFrame) -> str:
    """The plain-text table ``summarize`` prints after the test types' (nothing without a curve)."""
    if frame.empty:
        return ""
    table = pd.DataFrame(
        {
            "test_type": frame["test_type"],
            "curve": frame["curve"],
            "appHosts": frame["app_hosts"],
            "peakLevel": frame["level"],
            "requestsPerSecond": frame["requestsPerSecond"].round(2),
            "efficiency": ["n/a" if math.isnan(v) else f"{v:.2f}" for v in frame["efficiency"]],
            "flags": frame["flags"],
        }
    )
    header = (
        "== Scale-out: peak requests/s on N app hosts behind the balancer,"
        " efficiency rps(N) / (N x rps(1)) =="
    )
    return header + "\n" + table.to_string(index=False) + "\n"
