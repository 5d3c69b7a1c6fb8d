"""labcore/slo.py: the search's steps on made-up probes, and its answer on a made-up server of known capacity
(tests/unit/test_open_loop.py runs it on a real one)."""

from __future__ import annotations

import pytest

from labcore import slo

TARGET = {"p99_ms": 100.0, "error_pct": 0.1}


def probe(rate: int, p99_ms: float = 5.0, error_pct: float = 0.0, behind: bool = False) -> slo.Probe:
    return slo.Probe(rate=rate, p99_ms=p99_ms, error_pct=error_pct, behind=behind)


def step(probes: list[slo.Probe], start: float = 1000, max_steps: int = 8) -> int | None:
    return slo.next_rate(probes, start_rps=start, max_steps=max_steps, **TARGET)


def test_the_first_probe_is_the_peak_then_it_grows_halves_or_bisects() -> None:
    assert step([], start=1234.4) == 1234
    assert step([probe(1000)]) == 1500  # nothing failed yet: 1.5 x the highest pass
    assert step([probe(1000, p99_ms=300)]) == 500  # nothing passed yet: half the lowest failure
    assert step([probe(1000, p99_ms=300), probe(500)]) == 750
    assert step([probe(1000), probe(1500, p99_ms=101)]) == 1250


@pytest.mark.parametrize(
    ("failing", "why"),
    [(probe(1500, error_pct=0.1), "errors at the limit"), (probe(1500, behind=True), "generator behind")],
)
def test_a_probe_fails_on_errors_or_when_its_generator_fell_behind(failing: slo.Probe, why: str) -> None:
    assert not failing.passes(**TARGET), why
    assert step([probe(1000), failing]) == 1250


def test_the_search_stops_within_two_percent_or_after_its_steps() -> None:
    assert step([probe(1000), probe(1020, p99_ms=200)]) is None  # 20 <= 2 % of 1020
    assert step([probe(1000), probe(1030, p99_ms=200)]) == 1015
    assert step([probe(1000), probe(1500, p99_ms=200)], max_steps=2) is None
    assert step([probe(1, p99_ms=200)]) is None  # nothing below one request per second


def test_found_is_the_highest_pass_below_the_lowest_failure_above_it() -> None:
    probes = [probe(1000), probe(1500, p99_ms=200), probe(1250), probe(1375, p99_ms=200)]
    assert slo.found(probes, **TARGET) == 1250
    assert slo.found([probe(800, p99_ms=200)], **TARGET) is None


@pytest.mark.parametrize("start", [400.0, 700.0, 1000.0, 1100.0, 2500.0])
def test_on_a_server_of_known_capacity_the_answer_is_within_two_percent(start: float) -> None:
    capacity = 1000

    def measure(rate: int) -> slo.Probe:
        return probe(rate, p99_ms=5.0 if rate <= capacity else 500.0)

    probes: list[slo.Probe] = []
    while (rate := slo.next_rate(probes, start_rps=start, max_steps=12, **TARGET)) is not None:
        probes.append(measure(rate))
    answer = slo.found(probes, **TARGET)
    assert answer is not None and 0.98 * capacity <= answer <= capacity, [p.rate for p in probes]
    assert len({p.rate for p in probes}) == len(probes)  # no rate probed twice


def test_a_stem_names_the_probe_by_its_rate() -> None:
    assert slo.stem(1250) == "slo-o1250-r1"
