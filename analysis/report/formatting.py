"""How the reports write values: numbers, times, settings, latencies, sort keys and links."""

from __future__ import annotations

import base64
import io
import math
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import pandas as pd
from matplotlib.figure import Figure

from analysis.units import format_latency_ms

NOT_RECORDED = "not recorded"


def format_time_ms(value: Any) -> str:
    """Epoch milliseconds as ``2026-11-21 20:01:31 UTC``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(value) / 1000))


def generated_now() -> str:
    """When a report is made (the one part of it that differs between two makings from the same data)."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())


def format_value(value: Any) -> str:
    """Any cell or setting as short text: numbers with separators, lists joined, NaN and None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return format_value(int(value))
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return str(value)


def scalar(value: Any) -> Any:
    """numpy/pandas scalars as plain Python values (NaN and NA as None)."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def sort_key(value: Any) -> str:
    """The key a table cell sorts by in the browser: numbers as repr(float), the rest as text."""
    value = scalar(value)
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return repr(float(value))
    return "" if value is None else str(value)


def number(value: Any, digits: int = 1) -> str:
    value = scalar(value)
    return "" if value is None else f"{float(value):,.{digits}f}"


def span(low: Any, high: Any, digits: int = 0) -> str:
    low, high = scalar(low), scalar(high)
    return "" if low is None or high is None else f"{number(low, digits)} to {number(high, digits)}"


def latency_cell(value: Any, pipelined: bool) -> str:
    value = scalar(value)
    if pipelined:
        return "n/a (pipelined)"
    if value is None:
        return "n/a"
    return format_latency_ms(float(value))


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested mappings as (dotted key, text) rows, for the environment tables."""
    if isinstance(obj, Mapping):
        rows: list[tuple[str, str]] = []
        for key, value in obj.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    return [(prefix, format_value(obj))]


def settings_rows(run: Mapping[str, Any]) -> list[tuple[str, str]]:
    """run.json as (key, text) rows, sorted by key; times in UTC."""
    rows = []
    for key in sorted(run):
        value = run[key]
        text = format_time_ms(value) if key.endswith("_ms") and isinstance(value, int | float) else None
        if key == "resumed_ms" and isinstance(value, list):
            text = ", ".join(format_time_ms(v) for v in value) or "never"
        rows.append((key, text if text is not None else format_value(value)))
    return rows


def href(path: str) -> str:
    """A relative link to a file of the run directory (the report sits at its top)."""
    return quote(path)


def png_data_uri(png: bytes) -> str:
    return f"data:image/png;base64,{base64.b64encode(png).decode('ascii')}"


def figure_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return png_data_uri(buffer.getvalue())
