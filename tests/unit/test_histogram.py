"""labcore/histogram.py: the precision contract, merging as the union of samples, the serialised form."""

from __future__ import annotations

import json
import math
import random

import pytest

from labcore.histogram import Histogram, HistogramError, bucket_of, merged

PERCENTS = (0.0, 1.0, 50.0, 75.0, 90.0, 99.0, 99.9, 99.99, 100.0)


def exact_percentile(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def latencies(seed: int, count: int) -> list[float]:
    """Sub-millisecond answers with a tail into seconds, as a stalled server gives."""
    rng = random.Random(seed)
    return [
        rng.lognormvariate(5.5, 0.6) if rng.random() < 0.97 else rng.uniform(1_000.0, 2_000_000.0)
        for _ in range(count)
    ]


def histogram_of(samples: list[float]) -> Histogram:
    histogram = Histogram()
    for value in samples:
        histogram.record(value)
    return histogram


def test_buckets_keep_four_significant_digits() -> None:
    assert [bucket_of(v) for v in (0, 1.4, 9_999, 10_004, 123_456, 7_654_321.0)] == [
        0,
        1,
        9_999,
        10_000,
        123_400,
        7_654_000,
    ]
    with pytest.raises(ValueError, match="finite value >= 0"):
        bucket_of(-1)
    with pytest.raises(ValueError, match="finite value >= 0"):
        bucket_of(math.nan)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_are_within_the_precision_of_the_true_ones(seed: int) -> None:
    samples = latencies(seed, 20_000)
    histogram = histogram_of(samples)
    for percent in PERCENTS:
        true = exact_percentile(samples, percent)
        read = histogram.percentile(percent)
        # Never below the true value (beyond the rounding to whole µs), never more than 0.1 % above it.
        assert true - 0.5 <= read <= true * 1.001 + 1, (percent, true, read)
    assert histogram.total == len(samples)
    assert histogram.min == min(samples) and histogram.max == max(samples)
    assert histogram.mean == pytest.approx(sum(samples) / len(samples))
    mean = sum(samples) / len(samples)
    stdev = math.sqrt(sum((v - mean) ** 2 for v in samples) / (len(samples) - 1))
    assert histogram.stdev == pytest.approx(stdev, rel=1e-6)


def test_merging_two_clients_gives_the_percentiles_of_the_union() -> None:
    # Two clients with different distributions: one fast, one behind a stall. No summary of the two
    # (average or worst of their p99) gives the p99 of the union; the merged histogram does.
    fast = [random.Random(7).uniform(100.0, 400.0) for _ in range(30_000)]
    slow = latencies(8, 3_000)
    union = merged([histogram_of(fast), histogram_of(slow)])
    together = histogram_of(fast + slow)
    for percent in PERCENTS:
        assert union.percentile(percent) == together.percentile(percent)
        true = exact_percentile(fast + slow, percent)
        assert true - 0.5 <= union.percentile(percent) <= true * 1.001 + 1
    assert union.counts == together.counts and union.total == together.total
    averaged = (histogram_of(fast).percentile(99) + histogram_of(slow).percentile(99)) / 2
    assert abs(averaged - union.percentile(99)) > 0.1 * union.percentile(99)


def test_the_serialised_form_round_trips_through_json() -> None:
    histogram = histogram_of(latencies(4, 5_000))
    back = Histogram.from_dict(json.loads(json.dumps(histogram.to_dict())))
    assert back.counts == histogram.counts
    assert (back.total, back.min, back.max) == (histogram.total, histogram.min, histogram.max)
    assert back.percentile(99.9) == histogram.percentile(99.9)
    assert back.stdev == pytest.approx(histogram.stdev)


def test_an_empty_histogram_reads_as_nothing_and_merges_as_nothing() -> None:
    empty = Histogram()
    assert math.isnan(empty.percentile(50)) and math.isnan(empty.mean)
    back = Histogram.from_dict(empty.to_dict())
    assert back.total == 0 and back.min == math.inf
    one = histogram_of([250.0])
    assert merged([empty, one, Histogram()]).percentile(99) == 250.0
    assert one.stdev == 0.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit": "ms"}, "unit and significant_digits"),
        ({"significant_digits": 3}, "unit and significant_digits"),
        ({"counts": [1, 2]}, "counts: expected an object"),
        ({"counts": {"12": -1}}, "counts: bad bucket '12'"),
        ({"counts": {"x": 1}}, "counts: bad bucket 'x'"),
        ({"total": 99}, "total 99 is not the sum of the counts"),
        ({"max": "1"}, "max: expected a number"),
    ],
)
def test_a_bad_serialised_histogram_is_refused_naming_the_field(
    change: dict[str, object], message: str
) -> None:
    good = histogram_of([100.0, 200.0, 15_000.0]).to_dict()
    with pytest.raises(HistogramError, match=message):
        Histogram.from_dict({**good, **change})
    with pytest.raises(HistogramError, match="expected an object"):
        Histogram.from_dict([good])
