"""Each host's share of each level (analysis/host_levels.py, resources/levels.csv): CPU per host from its
samples inside the point, and each app host's requests served (the balancer's counts) and CPU per request."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from analysis.balance import BalancerCounts, parse_counts
from analysis.host_levels import HOST_LEVEL_COLUMNS, host_levels

T0 = 1_764_750_000
A, B = "10.0.0.11:8080", "10.0.0.12:8080"
HOSTS = {"db": ["db"], "app": ["a1", "a2"], "client": ["c1"], "lb": ["lb"]}


def _samples(host: str, busy: float, cores: int = 2) -> list[dict[str, Any]]:
    # One sample a second, each ending half a second past a whole second (lab-sampler's schedule).
    return [
        {
            "host": host,
            "time_ms": (T0 + i) * 1000 + 500,
            "interval_s": 1.0,
            "cpu_user_pct": busy,
            "cpu_system_pct": 0.0,
            "cores": cores,
        }
        for i in range(1, 6)
    ]


def _point(framework: str = "aiohttp") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "framework": [framework],
            "test_type": ["json"],
            "level": [64],
            "repeat": [1],
            "client": ["c1"],
            "start_ms": [T0 * 1000],
            "end_ms": [(T0 + 6) * 1000],
            "requestsPerSecond": [3000.0],
        }
    )


def _balancer(per_second: dict[str, int]) -> BalancerCounts:
    counts = [[T0 + s, backend, 200, n] for s in range(6) for backend, n in per_second.items()]
    frame, weights = parse_counts({"counts": counts, "backends": {A: 1, B: 1}}, "lb")
    return BalancerCounts(frame, weights)


def test_each_app_host_s_cpu_per_request_from_what_it_served() -> None:
    samples = pd.DataFrame(_samples("a1", 50.0) + _samples("a2", 25.0) + _samples("db", 10.0, cores=4))
    levels = host_levels(_point(), samples, HOSTS, _balancer({A: 2000, B: 1000}))
    assert list(levels.columns) == list(HOST_LEVEL_COLUMNS)
    by_host = levels.set_index("host")
    assert by_host.loc["a1", "cpu_ms_per_s"] == pytest.approx(1000.0)  # half of 2 cores
    assert by_host.loc["a1", "served_rps"] == 2000.0 and by_host.loc["a2", "served_rps"] == 1000.0
    assert by_host.loc["a1", "cpu_ms_per_1k_req"] == pytest.approx(500.0)
    assert by_host.loc["a2", "cpu_ms_per_1k_req"] == pytest.approx(500.0)
    assert by_host.loc["db", "tier"] == "db" and bool(by_host["served_rps"].isna()["db"])
    assert by_host.loc["db", "cpu_ms_per_s"] == pytest.approx(400.0)


def test_one_app_host_without_a_balancer_served_the_whole_point() -> None:
    hosts = {"db": ["db"], "app": ["a1"], "client": ["c1"]}
    empty, weights = parse_counts({"counts": [], "backends": {}}, "lb")
    levels = host_levels(_point(), pd.DataFrame(_samples("a1", 60.0)), hosts, BalancerCounts(empty, weights))
    (row,) = levels.to_dict("records")
    assert row["served_rps"] == 3000.0
    assert row["cpu_ms_per_1k_req"] == pytest.approx(1200.0 / 3000.0 * 1000.0)


def test_an_app_host_the_balancer_sent_nothing_served_nothing() -> None:
    samples = pd.DataFrame(_samples("a1", 50.0) + _samples("a2", 1.0))
    levels = host_levels(_point("aiohttp-x1"), samples, HOSTS, _balancer({A: 3000})).set_index("host")
    assert levels.loc["a2", "served_rps"] == 0.0 and bool(levels["cpu_ms_per_1k_req"].isna()["a2"])
