"""wrk's units, in one place: parse what wrk prints, and format latencies the way wrk does.

wrk (src/units.c) prints
  - times with ``us``, ``ms``, ``s`` and, from 51 s on, ``m`` (minutes; its ``h`` is never reached),
  - byte counts (``N requests in 2.00s, 23.83MB read`` and ``Transfer/sec``) in binary units: ``B``, ``KB``,
    ``MB``, ``GB``, ``TB``, ``PB`` (scale 1024),
  - rates (``Req/Sec`` thread stats) in metric units: ``k``, ``M``, ``G``, ``T``, ``P`` (scale 1000).
"""

from __future__ import annotations

import math
import re

import numpy as np

_TIME_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
_BINARY = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4, "P": 1024**5}
_METRIC = {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}

_TIME_RE = re.compile(r"^(\d+(?:\.\d+)?)(us|ms|s|m|h)$")
_BYTES_RE = re.compile(r"^(\d+(?:\.\d+)?)([KkMGTP]?)B?$")
_METRIC_RE = re.compile(r"^(\d+(?:\.\d+)?)([kKMGTP]?)$")

# wrk prints the latency Avg column with at most 8 characters ("%8.8s"), so a mean that rounds to 1000.00ms
# (999995 us <= mean < 1 s) comes out truncated as "1000.00m". Real minutes never print like that: wrk only
# uses minutes from 51 s on, and 1000 minutes is far beyond any --timeout.
_TRUNCATED_MS = "1000.00m"


class UnitError(ValueError):
    """A value that is not in one of wrk's formats."""


def time_to_ms(text: str) -> float:
    """``"1.23ms"`` → 1.23; accepts us, ms, s, m (minutes), h."""
    value = text.strip()
    if value == _TRUNCATED_MS:
        return 1000.0
    match = _TIME_RE.match(value)
    if match is None:
        raise UnitError(f"not a wrk time value: {text!r}")
    return float(match.group(1)) * _TIME_MS[match.group(2)]


def bytes_to_float(text: str) -> float:
    """``"23.83MB"`` → 23.83 * 1024**2; accepts B, KB (or kB), MB, GB, TB, PB, with or without the B."""
    match = _BYTES_RE.match(text.strip())
    if match is None:
        raise UnitError(f"not a wrk byte value: {text!r}")
    return float(match.group(1)) * _BINARY[match.group(2).upper()]


def metric_to_float(text: str) -> float:
    """``"38.99k"`` → 38990.0; accepts k, M, G, T, P."""
    match = _METRIC_RE.match(text.strip())
    if match is None:
        raise UnitError(f"not a wrk metric value: {text!r}")
    suffix = match.group(2)
    return float(match.group(1)) * _METRIC["k" if suffix == "K" else suffix]


def _format_units(amount: np.longdouble, base: str, units: tuple[str, ...], scale: int) -> str:
    # wrk's format_units(): divide while the value is >= 0.85 * scale and a next unit exists after this one.
    # wrk computes in C long double; numpy's longdouble is the same type, so the rounding of "%.2Lf" (e.g.
    # 18585 us -> "18.58ms", where a double would give "18.59ms") comes out the same.
    value = amount
    threshold = np.longdouble(scale) * np.longdouble(0.85)
    unit = base
    for index in range(len(units) - 1):
        if value < threshold:
            break
        value /= np.longdouble(scale)
        unit = units[index]
    return np.format_float_positional(value, precision=2, unique=False, fractional=True, trim="k") + unit


def format_latency_us(micros: float) -> str:
    """A latency in µs as wrk prints it (format_time_us): 512.3 → ``"512.30us"``, 1500 → ``"1.50ms"``."""
    if math.isnan(micros):
        return "n/a"
    value = np.longdouble(micros)
    if value >= 1_000_000:
        return _format_units(value / np.longdouble(1_000_000), "s", ("m", "h"), 60)
    return _format_units(value, "us", ("ms", "s"), 1000)


def format_latency_ms(millis: float) -> str:
    """A latency in milliseconds, in wrk's format."""
    return format_latency_us(millis * 1000.0)
