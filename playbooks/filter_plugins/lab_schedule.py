"""When each run of a sweep starts, so that several client hosts start the same run at the same instant.

Ansible runs a task's loop on each host on its own: nothing keeps the loop items of two hosts in step. So a
sweep with several clients follows a schedule instead. The controller picks one start time t0 for the sweep,
every run gets a planned start from it, and every client passes that planned start to lab_wrk_run.py
(``--start-at``), which sleeps until then. A client that reaches a run after its planned start starts at once,
and its meta file records how late it was.

    planned_start[0] = t0
    planned_start[i] = planned_start[i - 1] + duration[i - 1] + pause + slack

The slack covers what happens between two runs on a client besides the pause (wrk stopping, Ansible starting
the next loop item over SSH); a slack that is too small shows up as late starts, never as overlapping runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def lab_sweep_schedule(
    points: Sequence[Mapping[str, Any]], t0_ms: int | str, pause_s: int | str, slack_s: int | str
) -> list[int]:
    """The planned start (epoch ms) of every point of a sweep, in order (see the module docstring).

    points: the runs, each with duration_s (lab_sweep_points). t0_ms: start of the first run.
    pause_s: the pause between runs; slack_s: the extra time allowed between runs.
    """
    t0, pause, slack = int(t0_ms), int(pause_s), int(slack_s)
    if t0 < 0 or pause < 0 or slack < 0:
        raise ValueError(f"t0_ms, pause_s and slack_s must be >= 0, got {t0_ms!r}, {pause_s!r}, {slack_s!r}")
    starts: list[int] = []
    start = t0
    for point in points:
        starts.append(start)
        duration = int(point["duration_s"])
        if duration <= 0:
            raise ValueError(f"duration_s must be > 0, got {point['duration_s']!r} in {dict(point)!r}")
        start += (duration + pause + slack) * 1000
    return starts


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"lab_sweep_schedule": lab_sweep_schedule}
