"""Discovery and loading of result triples (analysis.raw_files) on the sample run and on damaged copies."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.raw_files import load_raw_points
from analysis.wrk_report import WrkReportError, parse_wrk_report

C8_R1 = "raw/nginx/json/localhost/level-c8-r1"


def test_sample_run_loads_complete_points_and_reports_the_rest(sample_run: Path) -> None:
    loaded = load_raw_points(sample_run)
    stems = [p.stem for p in loaded.points]
    assert len(stems) == 13
    assert stems == sorted(stems)
    assert "raw/nginx/json/localhost/primer-r1" in stems
    assert "raw/pyfix/json/localhost/level-c8-r2" not in stems  # no .meta.json: killed
    assert "raw/pyfix/json/localhost/level-c16-r2" not in stems  # wrk missing: exit_code 127
    assert len(loaded.warnings) == 2
    killed, failed = sorted(loaded.warnings, key=lambda w: "exit_code" in w)
    assert "level-c8-r2" in killed and "missing raw/pyfix/json/localhost/level-c8-r2.meta.json" in killed
    assert "level-c16-r2: wrk failed (exit_code 127)" in failed and "wrk-not-installed" in failed


def test_point_content(sample_run: Path) -> None:
    point = next(p for p in load_raw_points(sample_run).points if p.stem == C8_R1)
    assert point.meta["framework"] == "nginx" and point.meta["repeat"] == 1
    assert point.report.requests == point.text.requests == 155215
    assert point.report.percentiles_us["99.99"] == 9822
    assert point.text.latency_avg_str == "334.89us"


def test_missing_raw_dir_is_a_warning(tmp_path: Path) -> None:
    loaded = load_raw_points(tmp_path)
    assert loaded.points == []
    assert loaded.warnings == [f"{tmp_path / 'raw'}: no raw/ directory"]


@pytest.mark.parametrize(
    ("suffix", "content", "expected"),
    [
        (".json", "{not json", "level-c8-r1.json: unreadable"),
        (".json", '{"requests": 1}', "level-c8-r1.json: bad report (errors: expected an object"),
        (".meta.json", "[1, 2]", "level-c8-r1.meta.json: not a JSON object"),
        (".meta.json", '{"framework": "nginx"}', "level-c8-r1.meta.json: missing test_type, phase"),
        (".txt", "garbage\n", "level-c8-r1.txt: no wrk summary in the text"),
    ],
)
def test_damaged_member_skips_the_point_with_a_warning(
    sample_run: Path, suffix: str, content: str, expected: str
) -> None:
    (sample_run / f"{C8_R1}{suffix}").write_text(content, encoding="utf-8")
    loaded = load_raw_points(sample_run)
    assert C8_R1 not in [p.stem for p in loaded.points]
    assert len(loaded.points) == 12
    assert any(expected in w for w in loaded.warnings), loaded.warnings


def test_leftover_temp_file_and_request_mismatch_are_warned(sample_run: Path) -> None:
    (sample_run / "raw/nginx/json/localhost/.level-c8-r1.json.wrk-123").write_text("{}", encoding="utf-8")
    report_path = sample_run / f"{C8_R1}.json"
    report = json.loads(report_path.read_text(encoding="utf-8"))
    report["requests"] = 155000
    report_path.write_text(json.dumps(report), encoding="utf-8")
    loaded = load_raw_points(sample_run)
    assert len(loaded.points) == 13
    assert any("leftover temporary file" in w for w in loaded.warnings)
    assert any("requests differ between .txt (155215) and .json (155000)" in w for w in loaded.warnings)
    point = next(p for p in loaded.points if p.stem == C8_R1)
    assert point.report.requests == 155000


def test_parse_wrk_report_rejects_non_numbers() -> None:
    good = json.loads((Path(__file__).resolve().parents[1] / "fixtures/wrk/normal.json").read_text())
    assert parse_wrk_report(good).latency_max_us == 10300
    good["latency_us"]["percentiles"]["99.9"] = "8058"
    with pytest.raises(WrkReportError, match=r"latency_us\.percentiles\.99\.9"):
        parse_wrk_report(good)
    with pytest.raises(WrkReportError, match="expected a JSON object"):
        parse_wrk_report([1])
