"""analysis.stats against values computed by hand (and Student's t in closed form for 2 and 4 degrees of
freedom, so that the expected p-values do not come from the library under test)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from analysis.stats import repeat_statistics, repeat_stats, t_quantile, welch_t_test


def t_cdf_df2(t: float) -> float:
    return 0.5 + t / (2 * math.sqrt(2 + t * t))


def t_cdf_df4(t: float) -> float:
    u = 1 + t * t / 4
    return 0.5 + 3 / 8 * (t / math.sqrt(u)) * (1 - t * t / (12 * u))


@pytest.mark.parametrize(
    ("df", "expected"),
    [(1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (30, 2.0423)],  # printed t tables, 97.5 %
)
def test_t_quantile_matches_the_printed_tables(df: int, expected: float) -> None:
    assert t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)


def test_three_repeats() -> None:
    s = repeat_stats([100.0, 102.0, 98.0])
    # mean 100, sum of squared deviations 8, / (n - 1) = 4, stdev 2; CI half-width t(0.975, 2) * 2 / sqrt(3)
    half = 4.302652729911275 * 2 / math.sqrt(3)
    assert (s.n, s.mean, s.median, s.stdev) == (3, 100.0, 100.0, 2.0)
    assert s.ci_low == pytest.approx(100 - half) and s.ci_high == pytest.approx(100 + half)
    assert half == pytest.approx(4.9683, abs=1e-4)
    assert s.cv_pct == pytest.approx(2.0)
    assert not s.unstable


def test_unstable_above_the_cv_threshold() -> None:
    s = repeat_stats([90.0, 100.0, 110.0, 130.0])
    # mean 107.5, median 105; squares 306.25 + 56.25 + 6.25 + 506.25 = 875, / 3 -> stdev 17.078
    assert s.median == 105.0
    assert s.stdev == pytest.approx(math.sqrt(875 / 3))
    assert s.cv_pct == pytest.approx(math.sqrt(875 / 3) / 107.5 * 100)  # 15.9 %
    assert s.unstable
    assert not repeat_stats([90.0, 100.0, 110.0, 130.0], cv_unstable_pct=20.0).unstable


def test_one_repeat_has_no_spread_and_nan_repeats_are_left_out() -> None:
    s = repeat_stats([42.0, math.nan])
    assert (s.n, s.mean, s.median) == (1, 42.0, 42.0)
    assert math.isnan(s.stdev) and math.isnan(s.ci_low) and math.isnan(s.cv_pct)
    assert not s.unstable
    assert repeat_stats([]).n == 0


def test_welch_equal_variances() -> None:
    # means 100 and 110, variances 4 and 4, n 3 and 3: t = 10 / sqrt(4/3 + 4/3) = 6.1237, df = 4
    result = welch_t_test([100.0, 102.0, 98.0], [110.0, 112.0, 108.0])
    assert result.t == pytest.approx(10 / math.sqrt(8 / 3))
    assert result.df == pytest.approx(4.0)
    assert result.p_value == pytest.approx(2 * (1 - t_cdf_df4(10 / math.sqrt(8 / 3))))
    assert result.p_value == pytest.approx(0.003602, abs=1e-6)
    assert result.significant()


def test_welch_not_significant() -> None:
    # means 100 and 105, variances 100 and 100: t = 5 / sqrt(200/3) = 0.6124, df = 4, p = 0.573
    result = welch_t_test([100.0, 110.0, 90.0], [105.0, 95.0, 115.0])
    assert result.p_value == pytest.approx(2 * (1 - t_cdf_df4(5 / math.sqrt(200 / 3))))
    assert result.p_value == pytest.approx(0.5734, abs=1e-4)
    assert not result.significant()


def test_welch_unequal_variances_uses_welch_satterthwaite() -> None:
    # A: mean 1000, variance 100; B: mean 900, variance 25; n 3 each. se^2 = 100/3 + 25/3 = 125/3,
    # df = (125/3)^2 / ((100/3)^2 / 2 + (25/3)^2 / 2) = 15625 / 5312.5 = 2.941
    result = welch_t_test([1000.0, 1010.0, 990.0], [900.0, 905.0, 895.0])
    assert result.t == pytest.approx(-100 / math.sqrt(125 / 3))
    assert result.df == pytest.approx(15625 / 5312.5)
    assert result.significant()


def test_welch_with_two_degrees_of_freedom() -> None:
    # A has no spread: df = n_b - 1 = 2; t = (mean_b - mean_a) / sqrt(var_b / 3)
    result = welch_t_test([50.0, 50.0, 50.0], [52.0, 54.0, 56.0])
    t = 4 / math.sqrt(4 / 3)
    assert result.df == pytest.approx(2.0)
    assert result.p_value == pytest.approx(2 * (1 - t_cdf_df2(t)))


def test_welch_degenerate_cases() -> None:
    assert math.isnan(welch_t_test([1.0], [1.0, 2.0]).p_value)
    assert not welch_t_test([1.0], [1.0, 2.0]).significant()
    assert welch_t_test([5.0, 5.0], [5.0, 5.0]).p_value == 1.0
    assert welch_t_test([5.0, 5.0], [6.0, 6.0]).p_value == 0.0


def test_repeat_statistics_per_group() -> None:
    frame = pd.DataFrame(
        {
            "framework": ["a"] * 3 + ["b"],
            "level": [16] * 4,
            "requestsPerSecond": [100.0, 102.0, 98.0, 7.0],
        }
    )
    stats = repeat_statistics(frame, ["framework", "level"], "requestsPerSecond")
    assert list(stats.columns) == [
        "framework",
        "level",
        "requestsPerSecond_median",
        "requestsPerSecond_ci_low",
        "requestsPerSecond_ci_high",
        "requestsPerSecond_cv_pct",
        "unstable",
    ]
    a = stats[stats["framework"] == "a"].iloc[0]
    assert a["requestsPerSecond_cv_pct"] == pytest.approx(2.0)
    assert a["requestsPerSecond_ci_low"] == pytest.approx(100 - 4.302652729911275 * 2 / math.sqrt(3))
    b = stats[stats["framework"] == "b"].iloc[0]
    assert b["requestsPerSecond_median"] == 7.0 and math.isnan(b["requestsPerSecond_cv_pct"])
    assert stats["unstable"].dtype == bool
