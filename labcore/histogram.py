"""Latency histograms that several clients can merge: a count per bucket, in microseconds.

Percentiles of different clients cannot be combined from their summaries; the percentile of the union needs
every client's whole distribution (docs/load-generators.md, "Whole histograms"). Each open-loop point
therefore keeps its whole histogram, and the clients' histograms are merged bucket by bucket, p50 ... p99.99
and max read from the merged one.

The buckets keep the precision of an HdrHistogram with three significant digits: a value, rounded to whole
µs, is kept in the bucket of its first SIGNIFICANT_DIGITS digits (values under 10^SIGNIFICANT_DIGITS µs
exactly), and a bucket reads as its upper edge (capped at the largest value recorded). So a percentile read
back is never below the true one and never more than 0.1 % above it, give or take that rounding (tested in
tests/unit/test_histogram.py). Count, minimum, maximum, sum and sum of squares are kept
exactly, so the mean and the standard deviation are exact too. Standard library only: the clients build
histograms from their load generator's samples (labcore/k6_report.py).

The serialised form (a point's ``histogram_us``) is plain JSON:

    {"unit": "us", "significant_digits": 4, "total": N, "min": X, "max": X, "sum": X, "sum_sq": X,
     "counts": {"<bucket's lower edge>": N, ...}}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SIGNIFICANT_DIGITS = 4
_EXACT_BELOW = 10**SIGNIFICANT_DIGITS


class HistogramError(ValueError):
    """A serialised histogram that cannot be read; the message names the bad field."""


def bucket_width(value_us: int) -> int:
    """The width of the bucket that holds an integer value (1 under 10^SIGNIFICANT_DIGITS µs)."""
    if value_us < _EXACT_BELOW:
        return 1
    return int(10 ** (len(str(value_us)) - SIGNIFICANT_DIGITS))


def bucket_of(value_us: float) -> int:
    """The lower edge of the bucket a value falls in (values are rounded to whole µs first)."""
    if value_us < 0 or math.isnan(value_us) or math.isinf(value_us):
        raise ValueError(f"a latency must be a finite value >= 0, got {value_us!r}")
    whole = round(value_us)
    width = bucket_width(whole)
    return whole - whole % width


@dataclass
class Histogram:
    counts: dict[int, int] = field(default_factory=dict)
    total: int = 0
    min: float = math.inf
    max: float = 0.0
    sum: float = 0.0
    sum_sq: float = 0.0

    def record(self, value_us: float, count: int = 1) -> None:
        key = bucket_of(value_us)
        self.counts[key] = self.counts.get(key, 0) + count
        self.total += count
        self.min = min(self.min, value_us)
        self.max = max(self.max, value_us)
        self.sum += value_us * count
        self.sum_sq += value_us * value_us * count

    def add(self, other: Histogram) -> None:
        """Merge another histogram into this one (the union of both sets of samples)."""
        for key, count in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + count
        self.total += other.total
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.sum += other.sum
        self.sum_sq += other.sum_sq

    @property
    def mean(self) -> float:
        return self.sum / self.total if self.total else math.nan

    @property
    def stdev(self) -> float:
        """The sample standard deviation (n - 1), as wrk reports it."""
        if self.total < 2:
            return 0.0 if self.total == 1 else math.nan
        variance = (self.sum_sq - self.sum * self.sum / self.total) / (self.total - 1)
        return math.sqrt(max(variance, 0.0))

    def percentile(self, percent: float) -> float:
        """The value at or under which ``percent`` % of the samples lie (its bucket's upper edge)."""
        if not 0 <= percent <= 100:
            raise ValueError(f"a percentile must be within 0..100, got {percent!r}")
        if not self.total:
            return math.nan
        if percent == 100:
            return self.max
        rank = max(1, math.ceil(percent / 100 * self.total))
        seen = 0
        for key in sorted(self.counts):
            seen += self.counts[key]
            if seen >= rank:
                upper = key + bucket_width(key) - 1
                return float(min(max(upper, self.min), self.max))
        return self.max

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit": "us",
            "significant_digits": SIGNIFICANT_DIGITS,
            "total": self.total,
            "min": self.min if self.total else 0.0,
            "max": self.max,
            "sum": self.sum,
            "sum_sq": self.sum_sq,
            "counts": {str(key): self.counts[key] for key in sorted(self.counts)},
        }

    @classmethod
    def from_dict(cls, obj: Any) -> Histogram:
        if not isinstance(obj, Mapping):
            raise HistogramError(f"expected an object, got {type(obj).__name__}")
        if obj.get("unit") != "us" or obj.get("significant_digits") != SIGNIFICANT_DIGITS:
            raise HistogramError(
                f"unit and significant_digits must be 'us' and {SIGNIFICANT_DIGITS}, "
                f"got {obj.get('unit')!r} and {obj.get('significant_digits')!r}"
            )
        counts = obj.get("counts")
        if not isinstance(counts, Mapping):
            raise HistogramError(f"counts: expected an object, got {counts!r}")
        histogram = cls()
        for key, count in counts.items():
            if not str(key).isdigit() or isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise HistogramError(f"counts: bad bucket {key!r}: {count!r}")
            if count:
                histogram.counts[int(key)] = count
        for name in ("total", "min", "max", "sum", "sum_sq"):
            value = obj.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise HistogramError(f"{name}: expected a number, got {value!r}")
        histogram.total = int(obj["total"])
        if histogram.total != sum(histogram.counts.values()):
            raise HistogramError(f"total {histogram.total} is not the sum of the counts")
        histogram.min = float(obj["min"]) if histogram.total else math.inf
        histogram.max = float(obj["max"])
        histogram.sum = float(obj["sum"])
        histogram.sum_sq = float(obj["sum_sq"])
        return histogram


def merged(histograms: Iterable[Histogram]) -> Histogram:
    """One histogram of the union of every sample of the given ones."""
    union = Histogram()
    for histogram in histograms:
        union.add(histogram)
    return union
