"""analysis/events.py and what the analysis does with a run's events (events.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from analysis.cli import main
from analysis.events import attach_events, failed_types, load_events, render_events

CRASH = {
    "run_id": "r",
    "framework": "pyfix",
    "event": "app_crashed",
    "test_types": ["json"],
    "time_ms": 1795290680000,
    "message": "the app server's processes changed during json on localhost (master=1 workers=2,3 ->\n"
    "master=1 workers=4,5): a worker or the server died under load; the app tier was restarted before the "
    "next type",
}
DB_DOWN = {
    "run_id": "r",
    "framework": "pyfix",
    "event": "database_unreachable",
    "test_types": ["queries"],
    "time_ms": 1795290690000,
    "message": "database unreachable at 127.0.0.1:5432: Connection refused (right after the queries sweep)",
}


def _write(run_dir: Path, *lines: Any) -> None:
    text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    (run_dir / "events.jsonl").write_text(text)


def test_load_events_keeps_order_and_warns_about_bad_lines(tmp_path: Path) -> None:
    _write(tmp_path, CRASH, "{not json", "", {"framework": "x"}, DB_DOWN)
    events, warnings = load_events(tmp_path)
    assert [e["event"] for e in events] == ["app_crashed", "database_unreachable"]
    assert len(warnings) == 2 and ":2: not JSON" in warnings[0] and ":4: not an event" in warnings[1]


def test_no_events_file_means_no_events(tmp_path: Path) -> None:
    assert load_events(tmp_path) == ([], [])
    assert render_events({"pyfix": {}}) == ""


def test_events_attach_to_their_framework_even_without_its_file() -> None:
    merged = attach_events(
        {"pyfix": {"framework": "pyfix", "status": "ok"}}, [CRASH, {**DB_DOWN, "framework": "gone"}]
    )
    assert merged["pyfix"]["events"] == [CRASH] and merged["pyfix"]["status"] == "ok"
    assert merged["gone"]["events"][0]["event"] == "database_unreachable"


def test_only_failing_events_fail_types() -> None:
    merged = attach_events({}, [CRASH, DB_DOWN])
    assert failed_types(merged) == {("queries", "pyfix"): DB_DOWN["message"]}


def test_render_puts_each_event_on_one_line() -> None:
    text = render_events(attach_events({}, [CRASH, DB_DOWN]))
    lines = text.splitlines()
    assert lines[0].startswith("== Events")
    assert lines[1].startswith("19:51:20 pyfix [json] app_crashed: the app server's processes changed")
    assert "->\n" not in text and "-> master=1" in lines[1]
    assert lines[2].endswith(f"database_unreachable: {DB_DOWN['message']}")


def test_summarize_shows_events_and_fails_the_types_they_name(
    sample_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(sample_run, CRASH, DB_DOWN)
    assert main(["summarize", str(sample_run)]) == 0
    out = capsys.readouterr().out
    assert "== Events (failures and crashes during the run)" in out
    assert "pyfix [queries] database_unreachable: database unreachable at 127.0.0.1:5432" in out
    results = json.loads((sample_run / "results.json").read_text())
    assert "pyfix" in results["failed"]["query"] and "pyfix" not in results["succeeded"]["query"]
    # A crash flags, it does not fail: json still succeeded, with its numbers.
    assert "pyfix" in results["succeeded"]["json"]
    assert results["rawData"]["query"]["pyfix"], "the failed type keeps its measured levels"
    report = (sample_run / "report.html").read_text()
    assert "pyfix [json] app_crashed: the app server" in report
    assert "pyfix [queries] database_unreachable: database unreachable at 127.0.0.1:5432" in report
