"""``python -m analysis compare`` on two saved runs (tests/fixtures/runs/compare-a, compare-b) whose repeats
were chosen so that the t-tests can be done by hand: alpha/json/16 is significantly faster in B,
alpha/json/64 is not significantly different, alpha/plaintext/256 is significantly slower, and alpha/db/16
has one repeat in A."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.compare import COMPARE_COLUMNS, CompareError, compare_runs, compare_with_baseline, run_points
from analysis.run import load_run

from .conftest import REPO

RUN_A = REPO / "tests" / "fixtures" / "runs" / "compare-a"
RUN_B = REPO / "tests" / "fixtures" / "runs" / "compare-b"


def t_cdf_df4(t: float) -> float:
    u = 1 + t * t / 4
    return 0.5 + 3 / 8 * (t / math.sqrt(u)) * (1 - t * t / (12 * u))


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return compare_runs(load_run(RUN_A), load_run(RUN_B))[0]


def point(frame: pd.DataFrame, framework: str, test_type: str, level: int) -> pd.Series:
    rows = frame[(frame.framework == framework) & (frame.test_type == test_type) & (frame.level == level)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_clients_of_a_repeat_are_summed() -> None:
    points = run_points(load_run(RUN_A))
    rows = points[(points.framework == "alpha") & (points.test_type == "json") & (points.level == 16)]
    assert list(rows["requestsPerSecond"]) == [100.0, 102.0, 98.0]  # 60 + 40, 62 + 40, 58 + 40


def test_significantly_faster(frame: pd.DataFrame) -> None:
    row = point(frame, "alpha", "json", 16)
    assert (row.median_a, row.median_b, row.ratio) == (100.0, 110.0, pytest.approx(1.1))
    # means 100 and 110, variances 4 and 4, three repeats each: t = 6.1237 with 4 degrees of freedom
    assert row.p_value == pytest.approx(2 * (1 - t_cdf_df4(10 / math.sqrt(8 / 3))))
    assert row.verdict == "faster"


def test_not_significant_however_large_the_ratio(frame: pd.DataFrame) -> None:
    row = point(frame, "alpha", "json", 64)
    assert row.ratio == pytest.approx(1.05)
    assert row.p_value == pytest.approx(2 * (1 - t_cdf_df4(5 / math.sqrt(200 / 3))))  # 0.573
    assert row.verdict == "not significant"


def test_significantly_slower_and_not_testable(frame: pd.DataFrame) -> None:
    assert point(frame, "alpha", "plaintext", 256).verdict == "slower"
    untestable = point(frame, "alpha", "db", 16)
    assert (untestable.repeats_a, untestable.repeats_b, untestable.verdict) == (1, 2, "not testable")
    assert math.isnan(untestable.p_value)


def test_ceiling_ratio_discounts_a_faster_machine(frame: pd.DataFrame) -> None:
    # B's ceiling is 10 % faster too: alpha's share of the ceiling did not change.
    assert point(frame, "alpha", "json", 16).ceiling_ratio == pytest.approx(1.0)
    assert math.isnan(point(frame, "alpha", "json", 64).ceiling_ratio)  # no ceiling at 64


def test_order_and_columns(frame: pd.DataFrame) -> None:
    assert list(frame.columns) == list(COMPARE_COLUMNS)
    assert list(frame.verdict) == ["faster", "faster", "slower", "not significant", "not testable"]


def test_printed_buckets(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["compare", str(RUN_A), str(RUN_B), "--csv", str(tmp_path / "c.csv")]) == 0
    out = capsys.readouterr().out
    blocks = out.split("\n== ")
    titles = [block.splitlines()[0] for block in blocks[1:]]
    assert titles == [
        "B faster than A (significant, p < 0.05): 2 ==",
        "B slower than A (significant, p < 0.05): 1 ==",
        "not significant (the difference is within the noise of the repeats): 1 ==",
        "not testable (fewer than 2 repeats on a side: rerun with lab_repeats >= 2): 1 ==",
        "only in A: 1 ==",
        "only in B: 1 ==",
    ]
    assert "beta/json/16" in blocks[5] and "alpha/queries/20" in blocks[6]
    assert len(pd.read_csv(tmp_path / "c.csv")) == 5
    # a stricter alpha moves the weaker difference to "not significant"
    assert main(["compare", str(RUN_A), str(RUN_B), "--alpha", "0.001"]) == 0
    assert "B faster than A (significant, p < 0.001): 1 ==" in capsys.readouterr().out


def test_bad_run_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compare", str(tmp_path / "nope"), str(RUN_B)]) == 1
    assert "no such run directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(CompareError, match="no level data"):
        run_points(load_run(tmp_path / "empty"))


def test_make_compare_target() -> None:
    proc = subprocess.run(
        ["make", "-s", "-o", ".venv/.controller", "compare", f"A={RUN_A}", f"B={RUN_B}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "B faster than A" in proc.stdout
    usage = subprocess.run(
        ["make", "-s", "-o", ".venv/.controller", "compare"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert usage.returncode != 0 and "usage: make compare A=" in usage.stderr


def test_several_runs_against_one_baseline(frame: pd.DataFrame) -> None:
    a, b = load_run(RUN_A), load_run(RUN_B)
    (ab, text_ab), (aa, _text_aa) = compare_with_baseline([a, b, a])
    assert ab.equals(frame) and text_ab == compare_runs(a, b)[1]
    assert set(aa["ratio"]) == {1.0}
    with pytest.raises(CompareError, match="two or more runs"):
        compare_with_baseline([a])
