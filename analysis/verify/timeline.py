"""Which of the db host's snapshots stand before and after each phase the client ran, by their times.

The client marks each phase's start and end on its clock and keeps quiet for a gap after each (sequence.py,
QuietGaps); the recorder on the db host stamps every snapshot with its clock (recorder.py). The two clocks may
differ by up to `skew_s` either way, so a snapshot stamped [t0, t1] on the db host was certainly taken

- before a phase that started at `start` when t1 < start - skew_s,
- after a phase that ended at `end` when t0 > end + skew_s.

Before a phase: the last snapshot of its kind that lies in the gap before it (after the previous phase, for
the same reason), after it: the first one in the gap after it (before the next phase). The first phase has
no gap before it: the recorder's "ready" snapshot stands there, as the client starts only once it is taken
(unless the recorder was not ready in time: then it must not be stamped after the phase began).
A file with no snapshot in its gap gets an error naming the phase instead (report.py reads
<name>.error.txt). select() is pure; attribute() reads and writes the files of a verification's data dir.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .sequence import PHASES, Phase

RECORDING = "recording.jsonl"


@dataclass(frozen=True)
class Picked:
    """A snapshot for one file, or why there is none."""

    snapshot: Any = None
    error: str = ""


@dataclass(frozen=True)
class Mark:
    phase: Phase
    start: float
    end: float

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Mark:
        phase = Phase(str(obj["phase"]), str(obj.get("type") or ""))
        return cls(phase, float(obj["start"]), float(obj["end"]))


@dataclass(frozen=True)
class Sample:
    kind: str  # "counters" or "worlds"
    t0: float
    t1: float
    snapshot: Any
    ready: bool = False


def parse_recording(lines: Sequence[str]) -> tuple[list[Sample], list[tuple[float, str]]]:
    """The recorder's lines as samples (World references resolved) and its errors (time, text)."""
    samples: list[Sample] = []
    errors: list[tuple[float, str]] = []
    worlds: dict[int, Any] = {}
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short when the recorder was killed
        if "error" in record:
            errors.append((float(record["t"]), str(record["error"])))
        elif "counters" in record:
            samples.append(Sample("counters", float(record["t0"]), float(record["t1"]), record["counters"]))
        elif "worlds" in record or "worlds_as" in record:
            value = record["worlds"] if "worlds" in record else worlds.get(int(record["worlds_as"]))
            worlds[int(record["n"])] = value
            ready = bool(record.get("ready"))
            samples.append(Sample("worlds", float(record["t0"]), float(record["t1"]), value, ready))
    return samples, errors


def _clock(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%H:%M:%S.%f")[:-3]


def _window(lo: float, hi: float) -> str:
    left = "the recorder's start" if lo == float("-inf") else _clock(lo)
    right = "the recorder's stop" if hi == float("inf") else _clock(hi)
    return f"{left} to {right} UTC on the db host's clock"


def _why_none(kind: str, where: str, lo: float, hi: float, errors: Sequence[tuple[float, str]]) -> str:
    reason = f"no {kind} snapshot of the database lies in the quiet gap {where} ({_window(lo, hi)})"
    if hi <= lo:
        reason += ": the gap is shorter than twice the clock skew allowed between the client and the db host"
    seen = [text for t, text in errors if t < hi]
    if seen:
        reason += f"; the recorder's last error: {seen[-1]}"
    return reason


def select(
    samples: Sequence[Sample],
    marks: Sequence[Mark],
    test_types: Sequence[str],
    skew_s: float,
    errors: Sequence[tuple[float, str]] = (),
) -> dict[str, Picked]:
    """Per snapshot file the phases call for: the sample that stands for it, or an error naming the phase."""
    inf = float("inf")
    picked: dict[str, Picked] = {}
    for i, mark in enumerate(marks):
        # The gaps around the phase, on the db host's clock, narrowed by the skew at both ends.
        lo_before = marks[i - 1].end + skew_s if i > 0 else -inf
        hi_before = mark.start - skew_s
        lo_after = mark.end + skew_s
        hi_after = marks[i + 1].start - skew_s if i + 1 < len(marks) else inf
        for kind, before_file, after_file in mark.phase.snapshots(test_types):
            of_kind = [s for s in samples if s.kind == kind and s.snapshot is not None]
            before = [s for s in of_kind if lo_before < s.t0 and s.t1 < hi_before]
            if not before and i == 0:
                # Ready before the client started, unless it came late (the recorder went on trying) and so
                # may have been taken during the phase.
                before = [s for s in of_kind if s.ready and s.t1 < mark.start + skew_s]
            after = [s for s in of_kind if lo_after < s.t0 and s.t1 < hi_after]
            where = mark.phase.describe()
            picked[before_file] = (
                Picked(before[-1].snapshot)
                if before
                else Picked(error=_why_none(kind, f"before {where}", lo_before, hi_before, errors))
            )
            picked[after_file] = (
                Picked(after[0].snapshot)
                if after
                else Picked(error=_why_none(kind, f"after {where}", lo_after, hi_after, errors))
            )
    return picked


def attribute(data_dir: Path) -> dict[str, Picked]:
    """Write the snapshot files of data_dir (or their .error.txt) from its phases.json and recording.jsonl.

    Nothing happens without phases.json (the client wrote none: http.json's error says why). A recording that
    is missing gives every snapshot the reason in recording.jsonl.error.txt.
    """
    phases_path = data_dir / PHASES
    if not phases_path.exists():
        return {}
    phases = json.loads(phases_path.read_text(encoding="utf-8"))
    marks = [Mark.from_json(m) for m in phases["phases"]]
    recording = data_dir / RECORDING
    if recording.exists():
        samples, errors = parse_recording(recording.read_text(encoding="utf-8").splitlines())
    else:
        error = recording.with_name(RECORDING + ".error.txt")
        why = error.read_text(encoding="utf-8").strip() if error.exists() else "the recording is missing"
        samples, errors = [], [(float("-inf"), why)]
    picked = select(samples, marks, phases["test_types"], float(phases["skew_s"]), errors)
    for name, pick in picked.items():
        for stale in (data_dir / name, data_dir / f"{name}.error.txt"):
            stale.unlink(missing_ok=True)
        if pick.error:
            (data_dir / f"{name}.error.txt").write_text(pick.error + "\n", encoding="utf-8")
        else:
            (data_dir / name).write_text(json.dumps(pick.snapshot) + "\n", encoding="utf-8")
    return picked
