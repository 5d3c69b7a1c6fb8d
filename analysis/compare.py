"""``python -m analysis compare RUN_A RUN_B``: is B faster or slower than A, point by point?

For each framework x test type x level present in both runs: the median requests per second over repeats
(clients of one repeat summed) in A and in B, their ratio B / A, and Welch's t-test over the repeats
(analysis.stats). A point is "faster" or "slower" only when p < ALPHA; otherwise it goes to the
"not significant" bucket, however large the ratio looks. A point with fewer than 2 repeats on either side
cannot be tested and is listed as such. When both runs measured the ceiling (analysis.ceiling), the ratio
of the ceiling fractions is shown too: it discounts a difference of machines.

Each run is a loaded Run (analysis.run); its points come from its raw files, or, for a run kept without
them, from the tidy.csv its last ``summarize`` wrote.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from analysis.ceiling import CEILING_FRAMEWORK
from analysis.run import Run
from analysis.stats import ALPHA, welch_t_test

POINT = ["framework", "test_type", "level"]
VERDICTS = ("faster", "slower", "not significant", "not testable")
COMPARE_COLUMNS = (
    "framework",
    "test_type",
    "level",
    "repeats_a",
    "repeats_b",
    "median_a",
    "median_b",
    "ratio",
    "ceiling_ratio",
    "p_value",
    "verdict",
)


class CompareError(ValueError):
    """A run directory that has no usable data; the message names it."""


def run_points(run: Run) -> pd.DataFrame:
    """One row per framework x test_type x level x repeat: requestsPerSecond summed over the clients."""
    tidy = run.tidy if not run.tidy.empty or run.saved_tidy is None else run.saved_tidy
    if tidy.empty:
        raise CompareError(f"{run.run_dir}: no level data (no tidy.csv rows, no complete raw points)")
    return points_from_tidy(tidy)


def points_from_tidy(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per framework x test_type x level x repeat: requestsPerSecond summed over the clients."""
    return tidy.groupby([*POINT, "repeat"], as_index=False).agg(
        requestsPerSecond=("requestsPerSecond", "sum")
    )


def _medians(points: pd.DataFrame) -> dict[tuple[str, str, int], float]:
    medians = points.groupby(POINT, as_index=False).agg(median=("requestsPerSecond", "median"))
    keys = zip(
        medians["framework"].astype(str).tolist(),
        medians["test_type"].astype(str).tolist(),
        medians["level"].astype(int).tolist(),
        strict=True,
    )
    return dict(zip(keys, medians["median"].astype(float).tolist(), strict=True))


def _ceiling_ratio(
    key: tuple[str, str, int],
    medians_a: dict[tuple[str, str, int], float],
    medians_b: dict[tuple[str, str, int], float],
) -> float:
    _, test_type, level = key
    top_a = medians_a.get((CEILING_FRAMEWORK, test_type, level), math.nan)
    top_b = medians_b.get((CEILING_FRAMEWORK, test_type, level), math.nan)
    if not (top_a > 0 and top_b > 0 and medians_a[key] > 0):
        return math.nan
    return (medians_b[key] / top_b) / (medians_a[key] / top_a)


def compare_points(points_a: pd.DataFrame, points_b: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """COMPARE_COLUMNS for every point in both runs, sorted by verdict, then framework, type and level."""
    medians_a, medians_b = _medians(points_a), _medians(points_b)
    groups_a = dict(iter(points_a.groupby(POINT)))
    groups_b = dict(iter(points_b.groupby(POINT)))
    rows = []
    for key in sorted(set(medians_a) & set(medians_b)):
        values_a = groups_a[key]["requestsPerSecond"].tolist()
        values_b = groups_b[key]["requestsPerSecond"].tolist()
        test = welch_t_test(values_a, values_b)
        if math.isnan(test.p_value):
            verdict = "not testable"
        elif test.p_value < alpha:
            verdict = "faster" if sum(values_b) / len(values_b) > sum(values_a) / len(values_a) else "slower"
        else:
            verdict = "not significant"
        median_a, median_b = medians_a[key], medians_b[key]
        rows.append(
            {
                "framework": key[0],
                "test_type": key[1],
                "level": key[2],
                "repeats_a": len(values_a),
                "repeats_b": len(values_b),
                "median_a": median_a,
                "median_b": median_b,
                "ratio": median_b / median_a if median_a > 0 else math.nan,
                "ceiling_ratio": _ceiling_ratio(key, medians_a, medians_b),
                "p_value": test.p_value,
                "verdict": verdict,
            }
        )
    frame = pd.DataFrame.from_records(rows, columns=list(COMPARE_COLUMNS))
    order = {verdict: index for index, verdict in enumerate(VERDICTS)}
    frame = frame.sort_values(
        ["verdict", "framework", "test_type", "level"],
        key=lambda c: c.map(order) if c.name == "verdict" else c,
    )
    return frame.reset_index(drop=True)


@dataclass(frozen=True)
class Unmatched:
    only_a: list[tuple[str, str, int]]
    only_b: list[tuple[str, str, int]]


def unmatched_points(points_a: pd.DataFrame, points_b: pd.DataFrame) -> Unmatched:
    keys_a, keys_b = set(_medians(points_a)), set(_medians(points_b))
    return Unmatched(sorted(keys_a - keys_b), sorted(keys_b - keys_a))


def _display(frame: pd.DataFrame) -> str:
    shown = pd.DataFrame(
        {
            "framework": frame["framework"],
            "type": frame["test_type"],
            "level": frame["level"],
            "repeats": [f"{a}/{b}" for a, b in zip(frame["repeats_a"], frame["repeats_b"], strict=True)],
            "A median": frame["median_a"].round(1),
            "B median": frame["median_b"].round(1),
            "B/A": [f"{v:.3f}" if not math.isnan(v) else "n/a" for v in frame["ratio"]],
            "p": [f"{v:.4f}" if not math.isnan(v) else "n/a" for v in frame["p_value"]],
        }
    )
    if frame["ceiling_ratio"].notna().any():
        shown["B/A of ceiling"] = [f"{v:.3f}" if not math.isnan(v) else "n/a" for v in frame["ceiling_ratio"]]
    return shown.to_string(index=False)


def render_comparison(
    frame: pd.DataFrame, unmatched: Unmatched, label_a: str, label_b: str, alpha: float = ALPHA
) -> str:
    """The text ``compare`` prints: one block per verdict, then the points only one run has."""
    lines = [
        f"A: {label_a}",
        f"B: {label_b}",
        "B/A: ratio of the medians of requests per second over repeats; "
        f"significant when Welch's t-test over the repeats gives p < {alpha}",
    ]
    titles = {
        "faster": f"B faster than A (significant, p < {alpha})",
        "slower": f"B slower than A (significant, p < {alpha})",
        "not significant": "not significant (the difference is within the noise of the repeats)",
        "not testable": "not testable (fewer than 2 repeats on a side: rerun with lab_repeats >= 2)",
    }
    for verdict in VERDICTS:
        rows = frame[frame["verdict"] == verdict]
        if len(rows):
            lines += ["", f"== {titles[verdict]}: {len(rows)} ==", _display(rows)]
    for label, keys in (("A", unmatched.only_a), ("B", unmatched.only_b)):
        if keys:
            listed = ", ".join(f"{f}/{t}/{lvl}" for f, t, lvl in keys)
            lines += ["", f"== only in {label}: {len(keys)} ==", listed]
    return "\n".join(lines) + "\n"


def compare_runs(run_a: Run, run_b: Run, alpha: float = ALPHA) -> tuple[pd.DataFrame, str]:
    """B against A: COMPARE_COLUMNS per point and the text ``compare`` prints; CompareError when either run
    has no level data."""
    points_a, points_b = run_points(run_a), run_points(run_b)
    frame = compare_points(points_a, points_b, alpha)
    text = render_comparison(
        frame, unmatched_points(points_a, points_b), str(run_a.run_dir), str(run_b.run_dir), alpha
    )
    return frame, text


def compare_with_baseline(runs: Sequence[Run], alpha: float = ALPHA) -> list[tuple[pd.DataFrame, str]]:
    """Every run after the first against the first (the baseline), as compare_runs does for two."""
    if len(runs) < 2:
        raise CompareError("compare needs two or more runs: the baseline first")
    return [compare_runs(runs[0], other, alpha) for other in runs[1:]]
