"""Statistics over repeats: median, mean with its 95 % confidence interval, coefficient of variation, and
Welch's t-test between two sets of repeats.

Definitions (docs/design.md, "Statistics over repeats"):
  mean, median      of the n repeats' values
  stdev             sample standard deviation (n - 1 in the denominator)
  95 % CI           of the mean, with Student's t: mean +- t(0.975, n - 1) * stdev / sqrt(n)
  CV                stdev / mean, in percent
  unstable          CV above CV_UNSTABLE_PCT (a point whose repeats disagree that much is not a number to
                    compare frameworks with)
With one repeat there is no spread: stdev, CI and CV are NaN and the point is not marked unstable.

Welch's t-test does not assume equal variances: t = (mean_b - mean_a) / sqrt(var_a/n_a + var_b/n_b) with the
Welch-Satterthwaite degrees of freedom; the two-sided p-value comes from Student's t distribution (scipy).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd
from scipy import stats as scipy_stats

CONFIDENCE = 0.95
CV_UNSTABLE_PCT = 5.0
ALPHA = 0.05


@dataclass(frozen=True)
class RepeatStats:
    n: int
    mean: float
    median: float
    stdev: float
    ci_low: float
    ci_high: float
    cv_pct: float
    unstable: bool


@dataclass(frozen=True)
class WelchResult:
    t: float
    df: float
    p_value: float

    def significant(self, alpha: float = ALPHA) -> bool:
        return not math.isnan(self.p_value) and self.p_value < alpha


def t_quantile(probability: float, df: float) -> float:
    """The quantile of Student's t distribution with df degrees of freedom."""
    return float(scipy_stats.t.ppf(probability, df))


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with df degrees of freedom."""
    return float(2.0 * scipy_stats.t.sf(abs(t), df))


def _finite(values: Sequence[float]) -> list[float]:
    return [float(v) for v in values if not math.isnan(float(v))]


def repeat_stats(values: Sequence[float], cv_unstable_pct: float = CV_UNSTABLE_PCT) -> RepeatStats:
    """Summary of one point's repeats; NaN values (a repeat without data) are left out."""
    data = _finite(values)
    n = len(data)
    if n == 0:
        nan = math.nan
        return RepeatStats(0, nan, nan, nan, nan, nan, nan, False)
    mean = statistics.fmean(data)
    median = statistics.median(data)
    if n == 1:
        return RepeatStats(1, mean, median, math.nan, math.nan, math.nan, math.nan, False)
    stdev = statistics.stdev(data)
    half_width = t_quantile(1.0 - (1.0 - CONFIDENCE) / 2.0, n - 1) * stdev / math.sqrt(n)
    cv_pct = stdev / abs(mean) * 100.0 if mean != 0 else math.nan
    unstable = not math.isnan(cv_pct) and cv_pct > cv_unstable_pct
    return RepeatStats(n, mean, median, stdev, mean - half_width, mean + half_width, cv_pct, unstable)


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> WelchResult:
    """Welch's two-sided t-test of mean(b) - mean(a). NaN p-value when either side has fewer than 2 values.

    Two samples without any spread are identical (p = 1) or certainly different (p = 0).
    """
    xs, ys = _finite(a), _finite(b)
    if len(xs) < 2 or len(ys) < 2:
        return WelchResult(math.nan, math.nan, math.nan)
    n_a, n_b = len(xs), len(ys)
    var_a, var_b = statistics.variance(xs), statistics.variance(ys)
    diff = statistics.fmean(ys) - statistics.fmean(xs)
    se_a, se_b = var_a / n_a, var_b / n_b
    se2 = se_a + se_b
    if se2 == 0:
        return WelchResult(math.copysign(math.inf, diff) if diff else 0.0, math.nan, 0.0 if diff else 1.0)
    t = diff / math.sqrt(se2)
    df = se2**2 / (se_a**2 / (n_a - 1) + se_b**2 / (n_b - 1))
    return WelchResult(t, df, t_two_sided_p(t, df))


def repeat_statistics(
    per_repeat: pd.DataFrame, keys: list[str], column: str, cv_unstable_pct: float = CV_UNSTABLE_PCT
) -> pd.DataFrame:
    """One row per keys group of per_repeat (one row per repeat): keys, then <column>_median, _ci_low,
    _ci_high, _cv_pct and unstable."""
    names = [f"{column}_median", f"{column}_ci_low", f"{column}_ci_high", f"{column}_cv_pct", "unstable"]
    rows = []
    for key, group in per_repeat.groupby(keys, sort=True):
        summary = repeat_stats(group[column].tolist(), cv_unstable_pct)
        values = [summary.median, summary.ci_low, summary.ci_high, summary.cv_pct, summary.unstable]
        rows.append({**dict(zip(keys, key, strict=True)), **dict(zip(names, values, strict=True))})
    frame = pd.DataFrame.from_records(rows, columns=[*keys, *names])
    return frame.astype({"unstable": "bool"})
