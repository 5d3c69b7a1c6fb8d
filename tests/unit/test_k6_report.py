"""labcore/k6_report.py on k6's real sample streams (tests/fixtures/k6/README.md says how each was made)."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path
from typing import Any

import pytest

from analysis.wrk_report import parse_wrk_report
from labcore.histogram import Histogram
from labcore.k6_report import K6ReportError, reduce, reduce_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "k6"


def report(name: str, offered_rps: float = 200.0, duration_s: float = 2.0) -> dict[str, Any]:
    return reduce_file(FIXTURES / f"{name}.csv.gz", offered_rps=offered_rps, duration_s=duration_s, wall_us=1)


def iteration_samples_ms(name: str) -> list[float]:
    with gzip.open(FIXTURES / f"{name}.csv.gz", "rt", encoding="utf-8") as handle:
        return [float(line.split(",")[2]) for line in handle if line.startswith("iteration_duration,")]


def test_a_clean_point_reads_as_report_lua_would_write_it() -> None:
    found = report("normal")
    assert found["requests"] == 401 and found["bytes"] == 59749
    assert found["errors"] == dict.fromkeys(("connect", "read", "write", "status", "timeout"), 0)
    parsed = parse_wrk_report(found)  # the closed-loop reader takes it as it is
    assert parsed.requests == 401
    assert parsed.percentiles_us["50"] == 330.0 and parsed.latency_max_us == pytest.approx(1029.0, abs=1)
    schedule = found["open_loop"]
    assert schedule["iterations"] == 401 and schedule["dropped_iterations"] == 0
    assert schedule["achieved_rps"] == pytest.approx(200.5) and schedule["offered_rps"] == 200.0
    assert schedule["per_second"] == [173, 200, 28] and sum(schedule["per_second"]) == 401
    assert json.loads(json.dumps(found)) == found  # plain JSON, no NaN


def test_the_histogram_holds_every_iteration_within_its_precision() -> None:
    samples = sorted(v * 1000 for v in iteration_samples_ms("stall"))
    histogram = Histogram.from_dict(report("stall")["histogram_us"])
    assert histogram.total == len(samples) == 801
    assert histogram.max == pytest.approx(samples[-1]) and histogram.min == pytest.approx(samples[0])
    for percent in (50, 90, 99, 99.9):
        true = samples[max(1, math.ceil(percent / 100 * len(samples))) - 1]
        assert true - 0.5 <= histogram.percentile(percent) <= true * 1.001 + 1


def test_the_stalls_show_in_the_open_loop_percentiles() -> None:
    # 0.5 s without an answer every 2 s, offered 200/s: a quarter of the requests wait, some ~0.5 s.
    found = report("stall", duration_s=4.0)
    assert found["latency_us"]["percentiles"]["50"] < 1_000
    assert 400_000 < found["latency_us"]["percentiles"]["99"] < 510_000
    assert found["open_loop"]["dropped_iterations"] == 0 and found["open_loop"]["vus_max"] == 400


@pytest.mark.parametrize(
    ("name", "kind", "count", "dropped"),
    [("timeouts", "timeout", 24, 9), ("refused", "connect", 51, 0), ("status", "status", 51, 0)],
)
def test_errors_are_counted_by_k6_error_code(name: str, kind: str, count: int, dropped: int) -> None:
    found = report(name)
    assert {k: v for k, v in found["errors"].items() if v} == {kind: count}
    assert found["open_loop"]["dropped_iterations"] == dropped


def test_iterations_due_while_every_vu_was_busy_are_dropped_not_sent_late() -> None:
    found = report("dropped")
    schedule = found["open_loop"]
    assert schedule["dropped_iterations"] == 96 and schedule["iterations"] == 305
    assert schedule["vus_max"] == 5 and schedule["achieved_rps"] == pytest.approx(152.5)


def test_a_stream_that_is_not_k6_output_is_refused() -> None:
    with pytest.raises(K6ReportError, match="empty"):
        reduce([], offered_rps=1, duration_s=1, wall_us=1)
    with pytest.raises(K6ReportError, match="lacks a column"):
        reduce(["name,value\n", "x,1\n"], offered_rps=1, duration_s=1, wall_us=1)
    header = "metric_name,timestamp,metric_value,error_code,status,extra_tags,metadata\n"
    with pytest.raises(K6ReportError, match="no request"):
        reduce([header, "vus_max,1,5,,,,\n"], offered_rps=1, duration_s=1, wall_us=1)
