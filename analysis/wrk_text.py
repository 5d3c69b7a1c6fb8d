"""Parse wrk 4.x's text output (its stdout) into typed values: a pure function, no I/O.

What wrk prints (src/wrk.c), and what is read from it::

    Running 2s test @ http://127.0.0.1:18080/plaintext          -> url
      2 threads and 8 connections                              -> threads, connections
      Thread Stats   Avg      Stdev     Max   +/- Stdev
        Latency   334.89us  829.03us  10.30ms   92.31%          -> latency avg/stdev/max (+ the strings)
        Req/Sec    38.99k    17.64k   88.42k    75.00%
      Latency Distribution                                     (only with --latency)
         50%   81.00us                                         -> percentiles 50/75/90/99
         ...
      155215 requests in 2.00s, 23.83MB read                   -> requests, duration, bytes read
      Socket errors: connect 0, read 3, write 0, timeout 0     (only when one is non-zero)
      Non-2xx or 3xx responses: 10                             (only when non-zero; wrk counts status > 399)
    Requests/sec:  77500.97
    Transfer/sec:     11.90MB

With zero recorded latencies wrk prints ``0.00us`` and ``-nan%``; those parse as 0.0 and None.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from analysis.units import UnitError, bytes_to_float, time_to_ms

REPORT_MARKER = "----- wrk-report-json -----"
PERCENTILES = ("50", "75", "90", "99")

_RUNNING = re.compile(r"^Running (\S+) test @ (\S+)")
_THREADS = re.compile(r"^\s*(\d+) threads and (\d+) connections")
_LATENCY = re.compile(r"^\s*Latency\s+(\S+)\s+(\S+)\s+(\S+)\s+(-?nan|-?inf|[\d.]+)%\s*$")
_PERCENTILE = re.compile(r"^\s*(50|75|90|99)%\s+(\S+)\s*$")
_TOTALS = re.compile(r"^\s*(\d+) requests in (\S+), (\S+) read\s*$")
_SOCKET = re.compile(r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON2XX = re.compile(r"^\s*Non-2xx or 3xx responses: (\d+)")
_RPS = re.compile(r"^Requests/sec:\s+(-?nan|-?inf|[\d.]+)\s*$")
_TRANSFER = re.compile(r"^Transfer/sec:\s+(\S+)\s*$")


class WrkParseError(ValueError):
    """The text is not a complete wrk summary; the message names what is missing."""


@dataclass(frozen=True)
class WrkTextResult:
    """One wrk run as printed. Times in ms, sizes in bytes; ``*_str`` fields keep wrk's own strings."""

    requests: int
    duration_s: float
    duration_str: str
    bytes_read: float
    bytes_read_str: str
    latency_avg_ms: float
    latency_stdev_ms: float
    latency_max_ms: float
    latency_avg_str: str
    latency_stdev_str: str
    latency_max_str: str
    latency_within_stdev_pct: float | None
    requests_per_sec: float
    transfer_per_sec: float
    transfer_per_sec_str: str
    errors_connect: int = 0
    errors_read: int = 0
    errors_write: int = 0
    errors_timeout: int = 0
    non2xx: int = 0
    url: str | None = None
    threads: int | None = None
    connections: int | None = None
    percentiles_ms: dict[str, float] = field(default_factory=dict)
    percentiles_str: dict[str, str] = field(default_factory=dict)

    @property
    def has_latency_distribution(self) -> bool:
        """True when wrk ran with --latency."""
        return bool(self.percentiles_ms)

    @property
    def socket_errors(self) -> int:
        return self.errors_connect + self.errors_read + self.errors_write + self.errors_timeout


def _float_or_none(text: str) -> float | None:
    value = float(text)
    return None if math.isnan(value) or math.isinf(value) else value


def _time(text: str, what: str) -> float:
    try:
        return time_to_ms(text)
    except UnitError as exc:
        raise WrkParseError(f"{what}: {exc}") from exc


def parse_wrk_text(text: str) -> WrkTextResult:
    """Parse wrk's stdout. Raises WrkParseError naming the missing parts when the summary is incomplete."""
    text = text.split(REPORT_MARKER, 1)[0]
    url: str | None = None
    threads: int | None = None
    connections: int | None = None
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    non2xx = 0
    percentiles_ms: dict[str, float] = {}
    percentiles_str: dict[str, str] = {}
    latency: tuple[str, str, str, str] | None = None
    totals: tuple[str, str, str] | None = None
    rps: str | None = None
    transfer: str | None = None

    for line in text.splitlines():
        if match := _RUNNING.match(line):
            url = match.group(2)
        elif match := _THREADS.match(line):
            threads, connections = int(match.group(1)), int(match.group(2))
        elif match := _LATENCY.match(line):
            latency = (match.group(1), match.group(2), match.group(3), match.group(4))
        elif match := _PERCENTILE.match(line):
            percentiles_str[match.group(1)] = match.group(2)
            percentiles_ms[match.group(1)] = _time(match.group(2), f"latency percentile {match.group(1)}%")
        elif match := _TOTALS.match(line):
            totals = (match.group(1), match.group(2), match.group(3))
        elif match := _SOCKET.match(line):
            errors = dict(zip(errors, map(int, match.groups()), strict=True))
        elif match := _NON2XX.match(line):
            non2xx = int(match.group(1))
        elif match := _RPS.match(line):
            rps = match.group(1)
        elif match := _TRANSFER.match(line):
            transfer = match.group(1)

    missing = [
        name
        for name, found in (
            ("'Latency' thread stats line", latency),
            ("'N requests in T, B read' line", totals),
            ("'Requests/sec:' line", rps),
            ("'Transfer/sec:' line", transfer),
        )
        if found is None
    ]
    if missing:
        raise WrkParseError("no wrk summary in the text: missing " + ", ".join(missing))
    assert latency is not None and totals is not None and rps is not None and transfer is not None
    if percentiles_ms and set(percentiles_ms) != set(PERCENTILES):
        raise WrkParseError(f"incomplete latency distribution: found {sorted(percentiles_ms)}")

    try:
        bytes_read = bytes_to_float(totals[2])
        transfer_per_sec = bytes_to_float(transfer)
    except UnitError as exc:
        raise WrkParseError(str(exc)) from exc

    return WrkTextResult(
        requests=int(totals[0]),
        duration_s=_time(totals[1], "run duration") / 1000.0,
        duration_str=totals[1],
        bytes_read=bytes_read,
        bytes_read_str=totals[2],
        latency_avg_ms=_time(latency[0], "latency avg"),
        latency_stdev_ms=_time(latency[1], "latency stdev"),
        latency_max_ms=_time(latency[2], "latency max"),
        latency_avg_str=latency[0],
        latency_stdev_str=latency[1],
        latency_max_str=latency[2],
        latency_within_stdev_pct=_float_or_none(latency[3]),
        requests_per_sec=_float_or_none(rps) or 0.0,
        transfer_per_sec=transfer_per_sec,
        transfer_per_sec_str=transfer,
        errors_connect=errors["connect"],
        errors_read=errors["read"],
        errors_write=errors["write"],
        errors_timeout=errors["timeout"],
        non2xx=non2xx,
        url=url,
        threads=threads,
        connections=connections,
        percentiles_ms=percentiles_ms,
        percentiles_str=percentiles_str,
    )
