"""The JSON object written by wrk_scripts/report.lua (docs/design.md, ``<stem>.json``), typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

REPORT_PERCENTILES = ("50", "75", "90", "99", "99.9", "99.99")
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")


class WrkReportError(ValueError):
    """The object is not a report.lua report; the message names the missing or bad field."""


@dataclass(frozen=True)
class WrkReport:
    """Counts as integers, latencies in microseconds (as wrk measures them)."""

    requests: int
    duration_us: int
    bytes: int
    errors_connect: int
    errors_read: int
    errors_write: int
    errors_status: int
    errors_timeout: int
    latency_min_us: float
    latency_max_us: float
    latency_mean_us: float
    latency_stdev_us: float
    percentiles_us: Mapping[str, float]


def _number(obj: Mapping[str, Any], key: str, where: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise WrkReportError(f"{where}{key}: expected a number, got {value!r}")
    return float(value)


def _section(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if not isinstance(value, Mapping):
        raise WrkReportError(f"{key}: expected an object, got {value!r}")
    return value


def parse_wrk_report(obj: Any) -> WrkReport:
    """Validate and type a decoded report.lua object."""
    if not isinstance(obj, Mapping):
        raise WrkReportError(f"expected a JSON object, got {type(obj).__name__}")
    errors = _section(obj, "errors")
    latency = _section(obj, "latency_us")
    percentiles = _section(latency, "percentiles")
    return WrkReport(
        requests=int(_number(obj, "requests", "")),
        duration_us=int(_number(obj, "duration_us", "")),
        bytes=int(_number(obj, "bytes", "")),
        errors_connect=int(_number(errors, "connect", "errors.")),
        errors_read=int(_number(errors, "read", "errors.")),
        errors_write=int(_number(errors, "write", "errors.")),
        errors_status=int(_number(errors, "status", "errors.")),
        errors_timeout=int(_number(errors, "timeout", "errors.")),
        latency_min_us=_number(latency, "min", "latency_us."),
        latency_max_us=_number(latency, "max", "latency_us."),
        latency_mean_us=_number(latency, "mean", "latency_us."),
        latency_stdev_us=_number(latency, "stdev", "latency_us."),
        percentiles_us={p: _number(percentiles, p, "latency_us.percentiles.") for p in REPORT_PERCENTILES},
    )
