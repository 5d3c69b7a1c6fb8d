"""The balancer's counts and each level's share per app host (roles/lb/files/lab_lb_counts.py,
analysis/balance.py), on lines in the balancer's own log format (`$msec $upstream_addr $status`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from analysis.balance import (
    BALANCE_COLUMNS,
    add_level_balance,
    load_balancer_counts,
    parse_counts,
)
from analysis.tables import build_summary
from analysis.tidy import ERROR_COLUMNS
from roles.lb.files.lab_lb_counts import backend_weights, count_lines

A, B, C = "10.213.1.11:8080", "10.213.1.12:8080", "10.213.1.13:8080"
WEIGHTS = {A: 1, B: 1, C: 1}
T0 = 1_764_750_000  # a whole second, epoch


def _lines(second: int, served: dict[str, int], status: int = 200) -> list[str]:
    return [
        f"{second + (i % 1000) / 1000:.3f} {backend} {status}\n"
        for backend, n in served.items()
        for i in range(n)
    ]


def _level(start_s: int, end_s: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "framework": ["aiohttp"],
            "test_type": ["json"],
            "level": [64],
            "repeat": [1],
            "client": ["c1"],
            "start_ms": [start_s * 1000],
            "end_ms": [end_s * 1000],
        }
    )


def _counts(lines: list[str], tmp_path: Path, weights: dict[str, int] = WEIGHTS) -> Path:
    document = count_lines(lines, since_ms=0) | {"backends": weights}
    run_dir = tmp_path / "run"
    (run_dir / "lb").mkdir(parents=True)
    (run_dir / "lb" / "lablb.json").write_text(json.dumps(document))
    return run_dir


def test_the_log_is_counted_per_second_and_host() -> None:
    lines = [
        "1764750000.120 10.213.1.11:8080 200\n",
        "1764750000.930 10.213.1.12:8080 200\n",
        "1764750001.005 10.213.1.11:8080 502\n",
        # nginx tried 12 first, then 13 answered: 13 served it, and it was retried.
        "1764750001.500 10.213.1.12:8080, 10.213.1.13:8080 200\n",
        "1764750001.600 - 502\n",
        "garbage\n",
        "1764749999.999 10.213.1.11:8080 200\n",  # before the run
    ]
    document = count_lines(lines, since_ms=T0 * 1000)
    assert document["counts"] == [
        [T0, A, 200, 1],
        [T0, B, 200, 1],
        [T0 + 1, "-", 502, 1],
        [T0 + 1, A, 502, 1],
        [T0 + 1, C, 200, 1],
    ]
    assert document["retried"] == [[T0 + 1, 1]]
    assert (document["lines"], document["unparsed"]) == (7, 1)


def test_backends_are_named_as_nginx_logs_them() -> None:
    assert backend_weights(
        [{"address": "10.0.0.11", "port": 8080, "weight": 2}, {"address": "fd13::12", "port": 8080}]
    ) == {"10.0.0.11:8080": 2, "[fd13::12]:8080": 1}


def test_an_even_spread_is_balanced(tmp_path: Path) -> None:
    lines = [line for s in range(T0, T0 + 5) for line in _lines(s, {A: 100, B: 110, C: 90})]
    balancer = load_balancer_counts(_counts(lines, tmp_path))
    row = add_level_balance(_level(T0, T0 + 5), balancer).iloc[0]
    assert row["lb_requests"] == 1500
    assert row["lb_fair_share_min_pct"] == pytest.approx(90.0)
    assert row["lb_fair_share_max_pct"] == pytest.approx(110.0)
    assert not bool(row["lb_unbalanced"])


def test_a_host_that_served_little_or_nothing_flags_the_level(tmp_path: Path) -> None:
    lines = [line for s in range(T0, T0 + 5) for line in _lines(s, {A: 150, B: 150})]
    tidy = add_level_balance(_level(T0, T0 + 5), load_balancer_counts(_counts(lines, tmp_path)))
    row = tidy.iloc[0]
    assert row["lb_fair_share_min_pct"] == 0.0  # C served nothing
    assert row["lb_fair_share_max_pct"] == pytest.approx(150.0)
    assert bool(row["lb_unbalanced"])
    measured = {"pipeline": 1, "totalRequests": 1500, "duration_s": 5, "requestsPerSecond": 300.0}
    latency = dict.fromkeys(["latencyAvg_ms", "latencyMax_ms", "p50_ms", "p90_ms", "p99_ms", "p999_ms"], 1.0)
    summary = build_summary(tidy.assign(**measured, **latency, **dict.fromkeys(ERROR_COLUMNS, 0)))
    assert "lb unbalanced: app hosts at 0-150 % of their fair share" in summary.iloc[0]["flags"]


def test_weights_set_the_fair_share(tmp_path: Path) -> None:
    lines = [line for s in range(T0, T0 + 4) for line in _lines(s, {A: 200, B: 100})]
    run_dir = _counts(lines, tmp_path, weights={A: 2, B: 1})
    row = add_level_balance(_level(T0, T0 + 4), load_balancer_counts(run_dir)).iloc[0]
    assert row["lb_fair_share_min_pct"] == pytest.approx(100.0)
    assert not bool(row["lb_unbalanced"])


def test_only_seconds_wholly_inside_the_level_count(tmp_path: Path) -> None:
    # 2 s before the level all went to A (the warm-up, say); inside it, an even spread.
    lines = _lines(T0, {A: 500}) + [
        line for s in range(T0 + 1, T0 + 4) for line in _lines(s, dict.fromkeys(WEIGHTS, 50))
    ]
    row = add_level_balance(_level(T0 + 1, T0 + 4), load_balancer_counts(_counts(lines, tmp_path))).iloc[0]
    assert row["lb_requests"] == 450 and not bool(row["lb_unbalanced"])


def test_without_a_balancer_everything_is_unknown(tmp_path: Path) -> None:
    (tmp_path / "run").mkdir()
    tidy = add_level_balance(_level(T0, T0 + 5), load_balancer_counts(tmp_path / "run"))
    assert list(tidy.columns[-len(BALANCE_COLUMNS) :]) == list(BALANCE_COLUMNS)
    row = tidy.iloc[0]
    assert pd.isna(row["lb_requests"]) and row["lb_unbalanced"] is pd.NA


def test_too_few_requests_say_nothing(tmp_path: Path) -> None:
    row = add_level_balance(
        _level(T0, T0 + 1), load_balancer_counts(_counts(_lines(T0, {A: 50}), tmp_path))
    ).iloc[0]
    assert row["lb_requests"] == 50 and row["lb_unbalanced"] is pd.NA


def test_a_file_that_is_not_counts_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "lb").mkdir()
    (tmp_path / "lb" / "lablb.json").write_text('{"counts": "no"}')
    balancer = load_balancer_counts(tmp_path)
    assert balancer.counts.empty and "lb/lablb.json" in balancer.warnings[0]
    with pytest.raises(ValueError, match="is not"):
        parse_counts({"counts": [[1, 2]], "backends": {}}, "lablb")


def test_on_the_first_n_app_hosts_the_fair_share_is_among_them(tmp_path: Path) -> None:
    # The curve measured aiohttp-x2 on A and B (the balancer's first two): C served nothing, by design.
    lines = [line for s in range(T0, T0 + 4) for line in _lines(s, {A: 100, B: 95})]
    balancer = load_balancer_counts(_counts(lines, tmp_path))
    assert list(balancer.weights) == [A, B, C]
    level = _level(T0, T0 + 4).assign(framework="aiohttp-x2")
    row = add_level_balance(level, balancer, {"aiohttp-x2": 2}).iloc[0]
    assert not bool(row["lb_unbalanced"]) and row["lb_fair_share_max_pct"] == pytest.approx(100 * 100 / 97.5)
    # Counted on all three it would be flagged: the count is what makes it fair.
    assert bool(add_level_balance(level, balancer).iloc[0]["lb_unbalanced"])
