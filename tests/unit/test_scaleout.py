"""The scale-out curve (analysis/scaleout.py): each N's peak over the levels, and the efficiency
rps(N) / (N x rps(1)), from a summary and the records' metadata.app_hosts."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.plots import run_plots
from analysis.scaleout import SCALEOUT_COLUMNS, efficiency, render_scaleout, scale_out


def _record(name: str, app_hosts: int | None, engine: str = "postgres") -> dict[str, object]:
    return {
        "framework": name,
        "metadata": {"framework": "aiohttp", "db_engine": engine, "app_hosts": app_hosts},
    }


def _summary(rows: list[tuple[str, str, int, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["framework", "test_type", "level", "requestsPerSecond"])
    return frame.assign(flags="")


RECORDS = {f"aiohttp-x{n}": _record(f"aiohttp-x{n}", n) for n in (1, 2, 3)}


def test_each_count_s_peak_and_its_efficiency() -> None:
    summary = _summary(
        [
            ("aiohttp-x1", "json", 64, 1000.0),
            ("aiohttp-x1", "json", 256, 900.0),
            ("aiohttp-x2", "json", 64, 1500.0),
            ("aiohttp-x2", "json", 256, 1900.0),
            ("aiohttp-x3", "json", 256, 2400.0),
        ]
    )
    summary.loc[3, "flags"] = "client saturated"
    curve = scale_out(summary, RECORDS)
    assert list(curve.columns) == list(SCALEOUT_COLUMNS)
    assert curve["app_hosts"].tolist() == [1, 2, 3]
    assert curve["level"].tolist() == [64, 256, 256]
    assert curve["requestsPerSecond"].tolist() == [1000.0, 1900.0, 2400.0]
    assert curve["efficiency"].tolist() == pytest.approx([1.0, 0.95, 0.8])
    assert curve["curve"].unique().tolist() == ["aiohttp on postgres"]
    assert curve.loc[1, "flags"] == "client saturated"
    text = render_scaleout(curve)
    assert "efficiency rps(N) / (N x rps(1))" in text and "0.95" in text


def test_without_one_app_host_the_efficiency_is_unknown() -> None:
    records = {k: v for k, v in RECORDS.items() if k != "aiohttp-x1"}
    summary = _summary([("aiohttp-x2", "db", 64, 800.0), ("aiohttp-x3", "db", 64, 1000.0)])
    curve = scale_out(summary, records)
    assert curve["efficiency"].isna().all()
    assert "n/a" in render_scaleout(curve)
    assert math.isnan(efficiency(10.0, 2, 0.0))


def test_a_run_without_a_curve_has_none() -> None:
    # Every app host once (no lab_app_host_counts): one N per framework, no curve, no table.
    records = {"aiohttp": _record("aiohttp", 3)}
    curve = scale_out(_summary([("aiohttp", "json", 64, 1000.0)]), records)
    assert curve.empty and list(curve.columns) == list(SCALEOUT_COLUMNS)
    assert render_scaleout(curve) == ""
    # Records of older runs do not say: nothing is guessed.
    assert scale_out(_summary([("aiohttp", "json", 64, 1.0)]), {"aiohttp": _record("aiohttp", None)}).empty


def test_the_curve_is_plotted_per_type() -> None:
    summary = _summary([(f"aiohttp-x{n}", "json", 64, 1000.0 * n) for n in (1, 2, 3)])
    curve = scale_out(summary, RECORDS)
    empty = pd.DataFrame(columns=["test_type"])
    plots = run_plots(empty, empty, None, scaleout=curve)
    assert [(p.name, p.section) for p in plots] == [("scaleout-json", "scaleout")]
