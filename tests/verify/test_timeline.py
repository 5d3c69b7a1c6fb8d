"""Picking the db host's snapshots by time (analysis/verify/timeline.py), on recorded timelines.

Times are seconds on a made-up clock. The client ran the HTTP checks over [10, 20] and the db load over
[21.5, 23], each followed by a 1.5 s quiet gap; the recorder sampled the counters every 0.25 s and took World
snapshots when the counters were still.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from analysis.verify.checks import passed
from analysis.verify.cli import main
from analysis.verify.report import build_report
from analysis.verify.sequence import HTTP_PHASE, Phase, QuietGaps
from analysis.verify.sql import counter_keys
from analysis.verify.timeline import Mark, Picked, Sample, parse_recording, select

TYPES = ["db", "updates"]
MARKS = [Mark(HTTP_PHASE, 10.0, 20.0), Mark(Phase.load("db"), 21.5, 23.0)]
ZERO = dict.fromkeys(counter_keys(), 0)


def counters(calls: int) -> dict[str, int]:
    return {**ZERO, "world_calls": calls, "world_rows_read": calls}


def worlds(number: int) -> dict[str, str]:
    return {"world": f"1:{number}", "World": ""}


def timeline(offset: float = 0.0) -> list[Sample]:
    """Counters every 0.25 s from 9 to 25 (the load's 512 calls land inside [21.5, 23]); World at 9.5 (ready),
    20.6 and 23.6 (after the counters stilled). `offset`: the db host's clock minus the client's."""
    samples = [Sample("worlds", 9.5, 9.52, worlds(100), ready=True)]
    for i in range(65):
        t = 9.0 + i * 0.25
        calls = 7 if t < 21.5 else 519 if t > 23.0 else 300
        samples.append(Sample("counters", t, t + 0.01, counters(calls)))
    samples += [
        Sample("worlds", 20.6, 20.62, worlds(200)),
        Sample("worlds", 23.6, 23.62, worlds(300)),
    ]
    return sorted(
        (Sample(s.kind, s.t0 + offset, s.t1 + offset, s.snapshot, s.ready) for s in samples),
        key=lambda s: s.t0,
    )


def test_each_file_gets_the_snapshot_in_the_gap_around_its_phase() -> None:
    picked = select(timeline(), MARKS, TYPES, skew_s=0.0)
    assert picked == {
        "worlds-before.json": Picked(worlds(100)),
        "worlds-after.json": Picked(worlds(200)),
        "counters-db-before.json": Picked(counters(7)),
        "counters-db-after.json": Picked(counters(519)),
    }


def test_within_the_skew_a_snapshot_counts_for_neither_side() -> None:
    # The db host's clock runs 0.3 s ahead: the sample stamped 23.25 may have been taken at 22.95, before the
    # load ended, so with 0.3 s of skew allowed the pick moves on to one stamped after 23.3.
    ahead = timeline(offset=0.3)
    picked = select(ahead, MARKS, TYPES, skew_s=0.3)
    assert picked["counters-db-after.json"] == Picked(counters(519))
    after = [s for s in ahead if s.kind == "counters" and s.t0 > 23.0 + 0.3]
    assert after[0].t0 == pytest.approx(23.55)
    # Without allowing for it, the sample taken inside the load is picked as "after" and the check would
    # count a part of the load only.
    assert select(ahead, MARKS, TYPES, skew_s=0.0)["counters-db-after.json"] == Picked(counters(300))


def test_a_gap_without_a_snapshot_is_an_error_naming_the_phase() -> None:
    no_world_after = [s for s in timeline() if not (s.kind == "worlds" and 20 < s.t0 < 21.5)]
    errors = [(20.5, "psql exited (exit status 2): server closed the connection unexpectedly")]
    picked = select(no_world_after, MARKS, TYPES, skew_s=0.0, errors=errors)
    error = picked["worlds-after.json"].error
    assert error.startswith(
        "no worlds snapshot of the database lies in the quiet gap after the HTTP checks ("
    )
    assert error.endswith(
        "; the recorder's last error: psql exited (exit status 2): server closed the connection unexpectedly"
    )
    assert picked["worlds-after.json"].snapshot is None
    # The other files are unaffected.
    assert picked["counters-db-before.json"] == Picked(counters(7))


def test_a_gap_shorter_than_twice_the_skew_holds_nothing() -> None:
    picked = select(timeline(), MARKS, TYPES, skew_s=1.0)
    # Between the HTTP checks (end 20) and the load (start 21.5) nothing is certainly in between.
    assert "the gap is shorter than twice the clock skew" in picked["counters-db-before.json"].error
    assert "the gap is shorter than twice the clock skew" in picked["worlds-after.json"].error
    # After the last phase the gap is open-ended, and before the first the ready snapshot stands.
    assert picked["counters-db-after.json"] == Picked(counters(519))
    assert picked["worlds-before.json"] == Picked(worlds(100))


def test_the_first_phase_takes_the_ready_snapshot_when_the_client_started_within_the_skew() -> None:
    marks = [Mark(HTTP_PHASE, 9.6, 20.0), MARKS[1]]
    assert select(timeline(), marks, TYPES, skew_s=0.5)["worlds-before.json"] == Picked(worlds(100))
    # A recorder that became ready only while the HTTP checks ran (no database before): no World before.
    late = [s for s in timeline() if not s.ready] + [Sample("worlds", 12.0, 12.02, worlds(100), ready=True)]
    assert select(late, marks, TYPES, skew_s=0.5)["worlds-before.json"].error
    not_ready = [Sample(s.kind, s.t0, s.t1, s.snapshot) for s in timeline()]
    assert select(not_ready, marks, TYPES, skew_s=0.5)["worlds-before.json"].error.startswith(
        "no worlds snapshot of the database lies in the quiet gap before the HTTP checks (the recorder's"
    )


def test_only_the_snapshots_the_types_call_for() -> None:
    # Without updates, no World files; a type with no load (it failed its HTTP checks) has no phase.
    assert set(select(timeline(), MARKS[:1], ["json", "db"], skew_s=0.0)) == set()
    assert set(select(timeline(), MARKS, ["db"], skew_s=0.0)) == {
        "counters-db-before.json",
        "counters-db-after.json",
    }


def recording_lines() -> list[str]:
    records = [
        {"recorder": "started", "t": 9.0, "pid": 1},
        {"t": 9.1, "error": "psql exited (exit status 2): connection refused"},
        {"n": 0, "t0": 9.5, "t1": 9.52, "worlds": worlds(100), "ready": True},
        {"n": 1, "t0": 9.6, "t1": 9.61, "counters": counters(7)},
        {"n": 2, "t0": 20.6, "t1": 20.62, "worlds_as": 0},
        {"n": 3, "t0": 20.7, "t1": 20.71, "counters": counters(7)},
        {"n": 4, "t0": 23.5, "t1": 23.51, "counters": counters(519)},
    ]
    return [json.dumps(r) for r in records] + ['{"n": 5, "t0": 23.7, "t1"']  # cut short by a kill


def test_the_recording_is_read_with_world_references_resolved() -> None:
    samples, errors = parse_recording(recording_lines())
    assert errors == [(9.1, "psql exited (exit status 2): connection refused")]
    assert [(s.kind, s.t0, s.ready) for s in samples] == [
        ("worlds", 9.5, True),
        ("counters", 9.6, False),
        ("worlds", 20.6, False),
        ("counters", 20.7, False),
        ("counters", 23.5, False),
    ]
    assert samples[2].snapshot == worlds(100)


def write_run(data: Path, marks: Sequence[Mark], skew_s: float) -> None:
    gaps = QuietGaps(skew_s, margin_s=0.5)
    gaps.marks = [
        {"phase": m.phase.name, "type": m.phase.test_type, "start": m.start, "end": m.end} for m in marks
    ]
    (data / "phases.json").write_text(json.dumps(gaps.to_json(TYPES)))
    (data / "recording.jsonl").write_text("\n".join(recording_lines()) + "\n")


def test_the_report_command_writes_the_files_the_grading_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Stale files of an earlier attempt are replaced; where no snapshot lies in a gap, <name>.error.txt.
    (tmp_path / "worlds-after.json").write_text("{}")
    (tmp_path / "counters-db-before.json.error.txt").write_text("old")
    write_run(tmp_path, MARKS, skew_s=0.0)
    (tmp_path / "http.json").write_text(json.dumps({"base_url": "http://x", "checks": {}}))
    assert main(["report", "--framework", "fw", "--types", ",".join(TYPES), "--data", str(tmp_path),
                 "--out", str(tmp_path / "out")]) == 0  # fmt: skip
    capsys.readouterr()
    assert json.loads((tmp_path / "worlds-before.json").read_text()) == worlds(100)
    assert json.loads((tmp_path / "worlds-after.json").read_text()) == worlds(100)  # unchanged tables
    assert json.loads((tmp_path / "counters-db-before.json").read_text()) == counters(7)
    assert json.loads((tmp_path / "counters-db-after.json").read_text()) == counters(519)
    assert not list(tmp_path.glob("*.error.txt"))


def test_without_a_recording_every_snapshot_says_why(tmp_path: Path) -> None:
    write_run(tmp_path, MARKS, skew_s=0.0)
    (tmp_path / "recording.jsonl").unlink()
    (tmp_path / "recording.jsonl.error.txt").write_text("db1: the recorder did not start: psql: not found\n")
    ok = passed("body", "http://x/db", "ok").to_json()
    (tmp_path / "http.json").write_text(json.dumps({"base_url": "http://x", "checks": {"db": [ok]}}))
    (tmp_path / "load-db.json").write_text(
        json.dumps({"url": "u", "requests": 512, "concurrency": 512, "ok": 512, "seconds": 1})
    )
    main(["report", "--framework", "fw", "--types", "db", "--data", str(tmp_path),
          "--out", str(tmp_path / "out")])  # fmt: skip
    db_hits = [c for c in build_report("fw", tmp_path, ["db"]).checks["db"] if c.name == "db-hits"]
    assert len(db_hits) == 1 and db_hits[0].grade == "fail"
    assert (
        "counters-db-before.json: no counters snapshot of the database lies in the quiet gap before the db"
        in db_hits[0].reason
    )
    assert "the recorder's last error: db1: the recorder did not start: psql: not found" in db_hits[0].reason
