"""Unit conversion (analysis.units), checked against wrk's own formatting in the saved real outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from analysis.units import (
    UnitError,
    bytes_to_float,
    format_latency_ms,
    format_latency_us,
    metric_to_float,
    time_to_ms,
)
from analysis.wrk_text import parse_wrk_text

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "wrk"
REAL_OUTPUTS = sorted(p.name.removesuffix(".txt") for p in FIXTURES.glob("*.txt") if p.stem != "wrk-missing")


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("81.00us", 0.081),
        ("0.89ms", 0.89),
        ("1.20s", 1200.0),
        ("1.20s ", 1200.0),
        ("0.87m", 52_200.0),
        ("2.00h", 7_200_000.0),
        ("0.00us", 0.0),
        ("1000.00m", 1000.0),  # wrk's truncated "1000.00ms" in the Avg column
    ],
)
def test_time_to_ms(text: str, millis: float) -> None:
    assert time_to_ms(text) == pytest.approx(millis)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.00B", 0.0),
        ("757.85B", 757.85),
        ("5.20KB", 5.20 * 1024),
        ("5.20kB", 5.20 * 1024),
        ("23.83MB", 23.83 * 1024**2),
        ("1.21GB", 1.21 * 1024**3),
        ("2.00TB", 2.0 * 1024**4),
        ("12.5M", 12.5 * 1024**2),
    ],
)
def test_bytes_to_float(text: str, value: float) -> None:
    assert bytes_to_float(text) == pytest.approx(value)


@pytest.mark.parametrize(("text", "value"), [("68.67", 68.67), ("38.99k", 38_990.0), ("1.50M", 1.5e6)])
def test_metric_to_float(text: str, value: float) -> None:
    assert metric_to_float(text) == pytest.approx(value)


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        (time_to_ms, "12"),
        (time_to_ms, "1.2 ms"),
        (time_to_ms, "ms"),
        (bytes_to_float, "1.2XB"),
        (metric_to_float, "2x"),
    ],
)
def test_bad_values_raise(parse: object, text: str) -> None:
    with pytest.raises(UnitError):
        parse(text)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (0, "0.00us"),
        (849, "849.00us"),
        (850, "0.85ms"),
        (10300, "10.30ms"),
        (849_999, "850.00ms"),
        (999_999, "1000.00ms"),
        (1_000_000, "1.00s"),
        (50_999_999, "51.00s"),
        (51_000_000, "0.85m"),
        (7_200_000_000, "120.00m"),
    ],
)
def test_format_latency_us_follows_wrk(micros: float, text: str) -> None:
    assert format_latency_us(micros) == text


def test_format_latency_ms_and_nan() -> None:
    assert format_latency_ms(1.5) == "1.50ms"
    assert format_latency_us(math.nan) == "n/a"


@pytest.mark.parametrize("name", REAL_OUTPUTS)
def test_formatting_reproduces_wrk_strings(name: str) -> None:
    """Max and percentiles are whole microseconds in both files: formatting them gives wrk's exact text."""
    text = parse_wrk_text((FIXTURES / f"{name}.txt").read_text(encoding="utf-8"))
    report = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    latency = report["latency_us"]
    assert format_latency_us(latency["max"]) == text.latency_max_str
    assert {
        p: format_latency_us(latency["percentiles"][p]) for p in text.percentiles_str
    } == text.percentiles_str
    assert format_latency_us(latency["mean"]) == text.latency_avg_str
