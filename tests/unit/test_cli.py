"""``python -m analysis summarize`` end to end on copies of the sample run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main
from analysis.tfb_results import validate_tfb_results

REPO = Path(__file__).resolve().parents[2]


def test_summarize_writes_outputs_and_prints_tables(
    sample_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["summarize", str(sample_run)]) == 0
    out, err = capsys.readouterr()

    tidy = pd.read_csv(sample_run / "tidy.csv")
    assert len(tidy) == 12
    summary = pd.read_csv(sample_run / "summary.csv")
    assert len(summary) == 10
    results = json.loads((sample_run / "results.json").read_text())
    validate_tfb_results(results)
    assert results["rawData"]["json"]["nginx"][0]["totalRequests"] == 155215

    for test_type in ("json", "plaintext", "queries"):
        assert f"== {test_type}: Sorted by requestsPerSecond (descending) ==" in out
        assert f"== {test_type}: Sorted by latencyAvg (ascending) ==" in out
    assert out.rstrip().splitlines()[-2:] == [
        f"results: {sample_run / 'results.json'}",
        f"report: {sample_run / 'report.html'}",
    ]

    assert "level-c8-r2: incomplete point" in err
    assert "wrk failed (exit_code 127)" in err
    assert "level with errors: pyfix/json level 16 repeat 1 client localhost: errors read=9872" in err
    assert "results:" not in err


def test_summarize_through_latest_symlink_as_a_module(sample_run: Path) -> None:
    latest = sample_run.parent / "latest"
    latest.symlink_to(sample_run.name)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "summarize", str(latest)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (sample_run / "results.json").is_file()  # written into the run directory itself
    assert f"results: {sample_run / 'results.json'}" in proc.stdout


def test_no_level_data_exits_non_zero(sample_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for meta in (sample_run / "raw").rglob("level-*.meta.json"):
        meta.unlink()
    assert main(["summarize", str(sample_run)]) == 1
    out, err = capsys.readouterr()
    assert "no usable level data" in err
    assert "1 complete point(s)" in err  # the primer
    assert not (sample_run / "results.json").exists()
    assert out == ""


def test_missing_run_dir_exits_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["summarize", str(tmp_path / "nope")]) == 1
    assert "no such run directory" in capsys.readouterr().err


def test_usage_error() -> None:
    with pytest.raises(SystemExit) as excinfo:
        main([])
    assert excinfo.value.code == 2
