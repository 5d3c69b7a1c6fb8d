"""One test type's sweep: its points, their schedule, the run's ETA, and the program that runs it on a client.

stdlib only: roles/wrk_client ships labcore/ to every client host beside lab_wrk_run.py.

The controller computes a *plan* (``plan()``, through the benchmark role's ``benchmark_sweep_plan`` filter):
every point of the type in order (docs/test-types.md §4.2 "The runs of one test type": primer, warm-up, then
each level and repeat), the exact lab_wrk_run.py command of each, its planned start when several clients
must start together, and its progress line with the ETA of the whole run. The client runs it with

    python3 -m labcore.sweep run < plan.json       # every point, the pauses, the start schedule, resume
    python3 -m labcore.sweep wait PROGRESS N       # blocks until point N has ended (or the sweep has)
    python3 -m labcore.sweep prepare RUN_DIR [--drop FW/TYPE ...]   # before a run's first sweep

``run`` writes one line per ended point to the plan's progress file and prints it, and ends with a JSON
summary on stdout: the points that did not complete (exit code and lab_wrk_run's last line). Each point is one
lab_wrk_run.py process, so the raw files, their names and their meta are what that script writes, and a killed
point is what it always was (no meta file, measured again by a resume: ``--skip-existing``).

The schedule. Several clients load the app together, each running its own copy of the sweep: every point gets
one planned start on all of them (``--start-at``), and lab_wrk_run.py waits for it:

    planned_start[0] = t0
    planned_start[i] = planned_start[i - 1] + duration[i - 1] + pause + slack

The slack covers what happens between two points on a client besides the pause; a slack that is too small
shows up as late starts (start_late_ms in the meta), never as overlapping points. One client keeps the plain
pause.

The start signal. Starting the sweep on every client (SSH, Ansible's async wrapper, Python) takes seconds on a
busy host, so t0 is not fixed before the sweeps start: each sweep waits for its plan's `go_file` and reads the
t0 the controller writes there once every client's sweep has been started (the same value on every client);
the whole schedule moves by the difference to the plan's t0. The margin then only covers writing that file.

The ETA counts only what the settings fix: each remaining point's duration, the gap between two points of a
sweep (the pause; with several clients the pause plus the slack) and, with several clients, the margin before
each sweep's first point. Switching frameworks, verifying and fetching add time on top, and a resumed run
skips finished points at once, so it is a floor for a fresh run and an upper bound for a resumed one.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from labcore import slo

SWEEPS = ("concurrency", "pipeline", "queries")
LOAD_MODELS = ("closed", "open")
# The sweep's pid, per client and run (beside raw/, never inside it: the analysis reads raw/).
PID_FILE = ".sweep.pid"


# ------------------------------------------------------------------------------------------ the points


def _query_path(path: str, queries: int | None) -> str:
    return f"{path}{queries}" if queries is not None else path


def points(spec: Mapping[str, Any], settings: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every point of one test type, in order, each with what lab_wrk_run.py and its meta file need.

    spec: one entry of the registry (labcore.test_types.specs(): path, sweep). settings: concurrency_levels,
    pipeline_concurrency_levels, query_levels, pipeline_depth, duration_s, primer_duration_s,
    primer_concurrency, warmup_duration_s, repeats, and load_model (default closed) with, when it is open,
    offered_rates and open_vus; with slo_rate set, the one probe of the SLO search at that rate (phase slo).

    The open model (docs/load-generators.md) keeps the closed-loop primer and warm-up; its levels are the
    offered rates (requests per second for the whole lab: ``offered_rps``), each at the highest query count
    for the query types, never pipelined, with open_vus as the point's concurrency (the most requests one
    client keeps in flight).
    """
    sweep = spec["sweep"]
    if sweep not in SWEEPS:
        raise ValueError(f"sweep must be one of {SWEEPS}, got {sweep!r}")
    load_model = settings.get("load_model", "closed")
    if load_model not in LOAD_MODELS:
        raise ValueError(f"load_model must be one of {LOAD_MODELS}, got {load_model!r}")
    max_concurrency = max(int(c) for c in settings["concurrency_levels"])
    depth = int(settings["pipeline_depth"]) if sweep == "pipeline" else 1
    if sweep == "pipeline":
        levels = [int(c) for c in settings["pipeline_concurrency_levels"]]
    elif sweep == "queries":
        levels = [int(q) for q in settings["query_levels"]]
    else:
        levels = [int(c) for c in settings["concurrency_levels"]]

    def point(
        phase: str,
        stem: str,
        level: int,
        concurrency: int,
        queries: int | None,
        duration_s: int,
        repeat: int,
        pipeline: int = 1,
        offered_rps: int | None = None,
    ) -> dict[str, Any]:
        return {
            "phase": phase,
            "stem": stem,
            "level": level,
            "concurrency": concurrency,
            "pipeline": pipeline,
            "queries": queries,
            "duration_s": duration_s,
            "repeat": repeat,
            "path": _query_path(spec["path"], queries),
            "offered_rps": offered_rps,
        }

    # As TFB's scripts do: primer and warm-up are never pipelined, and the warm-up runs at the highest
    # concurrency level (and, for query types, the highest query count).
    primer_concurrency = int(settings["primer_concurrency"])
    primer_queries = 2 if sweep == "queries" else None
    warmup_queries = max(levels) if sweep == "queries" else None
    if settings.get("slo_rate") is not None:
        # One probe of the SLO search (labcore/slo.py): the app is warm from the type's sweep.
        rate = int(settings["slo_rate"])
        vus, duration = int(settings["open_vus"]), int(settings["duration_s"])
        return [point("slo", slo.stem(rate), rate, vus, warmup_queries, duration, 1, offered_rps=rate)]
    found = [
        point(
            "primer",
            "primer-r1",
            primer_queries or primer_concurrency,
            primer_concurrency,
            primer_queries,
            int(settings["primer_duration_s"]),
            1,
        ),
        point(
            "warmup",
            "warmup-r1",
            warmup_queries or max_concurrency,
            max_concurrency,
            warmup_queries,
            int(settings["warmup_duration_s"]),
            1,
        ),
    ]
    for repeat in range(1, int(settings["repeats"]) + 1):
        if load_model == "open":
            for rate in (int(r) for r in settings["offered_rates"]):
                found.append(
                    point(
                        "level",
                        f"level-o{rate}-r{repeat}",
                        rate,
                        int(settings["open_vus"]),
                        warmup_queries,
                        int(settings["duration_s"]),
                        repeat,
                        offered_rps=rate,
                    )
                )
            continue
        for level in levels:
            if sweep == "queries":
                found.append(
                    point(
                        "level",
                        f"level-q{level}-r{repeat}",
                        level,
                        max_concurrency,
                        level,
                        int(settings["duration_s"]),
                        repeat,
                    )
                )
            else:
                found.append(
                    point(
                        "level",
                        f"level-c{level}-r{repeat}",
                        level,
                        level,
                        None,
                        int(settings["duration_s"]),
                        repeat,
                        depth,
                    )
                )
    return found


def schedule(
    sweep_points: Sequence[Mapping[str, Any]], t0_ms: int | str, pause_s: int | str, slack_s: int | str
) -> list[int]:
    """The planned start (epoch ms) of every point of a sweep, in order (see the module docstring)."""
    t0, pause, slack = int(t0_ms), int(pause_s), int(slack_s)
    if t0 < 0 or pause < 0 or slack < 0:
        raise ValueError(f"t0_ms, pause_s and slack_s must be >= 0, got {t0_ms!r}, {pause_s!r}, {slack_s!r}")
    starts: list[int] = []
    start = t0
    for point in sweep_points:
        starts.append(start)
        duration = int(point["duration_s"])
        if duration <= 0:
            raise ValueError(f"duration_s must be > 0, got {point['duration_s']!r} in {dict(point)!r}")
        start += (duration + pause + slack) * 1000
    return starts


# ------------------------------------------------------------------------------------------ the ETA


def _sweep_seconds(sweep_points: Sequence[Mapping[str, Any]], pause_s: int, start_s: int = 0) -> int:
    """A whole sweep: the time before its first point, every point, and a pause between consecutive points."""
    if not sweep_points:
        return 0
    return start_s + sum(int(p["duration_s"]) for p in sweep_points) + pause_s * (len(sweep_points) - 1)


def remaining_s(
    specs: Mapping[str, Mapping[str, Any]],
    settings: Mapping[str, Any],
    *,
    pause_s: int | str,
    frameworks: Sequence[str],
    framework_index: int | str,
    types: Sequence[str],
    type_index: int | str,
    point_index: int | str,
    all_types: Sequence[str] | None = None,
    start_s: int | str = 0,
    ceiling: bool = False,
) -> int:
    """Seconds left in the run once point ``point_index`` of type ``type_index`` of the framework ends.

    types: the types swept for the current framework (those that passed verification); all_types: the types
    the later frameworks will sweep (defaults to ``types``), assumed to all pass verification. pause_s: the
    gap between two points; start_s: the time from a sweep's start to its first point. ceiling: the sweep is
    the hardware ceiling's (before every framework), so all of ``frameworks`` are still to come.
    """
    pause, start = int(pause_s), int(start_s)
    fw_index, t_index, p_index = int(framework_index), int(type_index), int(point_index)
    if ceiling:
        fw_index = -1
    elif not 0 <= fw_index < len(frameworks):
        raise ValueError(f"framework_index {fw_index} is outside the {len(frameworks)} frameworks")
    if not 0 <= t_index < len(types):
        raise ValueError(f"type_index {t_index} is outside the {len(types)} types {list(types)}")
    unknown = [t for t in [*types, *(all_types or [])] if t not in specs]
    if unknown:
        raise ValueError(f"unknown test type(s) {unknown}; known: {sorted(specs)}")

    def sweep(test_type: str) -> list[dict[str, Any]]:
        return points(specs[test_type], settings)

    current = sweep(types[t_index])
    if not 0 <= p_index < len(current):
        raise ValueError(f"point_index {p_index} is outside the {len(current)} points of {types[t_index]}")
    rest_of_type = current[p_index + 1 :]
    seconds = _sweep_seconds(rest_of_type, pause) + (pause if rest_of_type else 0)
    seconds += sum(_sweep_seconds(sweep(t), pause, start) for t in types[t_index + 1 :])
    per_framework = sum(_sweep_seconds(sweep(t), pause, start) for t in (all_types or types))
    return seconds + per_framework * (len(frameworks) - fw_index - 1)


def duration_text(seconds: int | float | str) -> str:
    """``3725`` -> ``"1h02m05s"``, ``65`` -> ``"1m05s"``, ``7`` -> ``"7s"``."""
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


# ------------------------------------------------------------------------------------------ the plan


def _wrk_command(
    point: Mapping[str, Any],
    url: str,
    host_header: str,
    spec: Mapping[str, Any],
    wrk_timeout_s: int,
    threads: int | None,
    scripts_dir: str,
) -> list[str]:
    script = f"{scripts_dir}/{'pipeline.lua' if point['pipeline'] > 1 else 'report.lua'}"
    wrk = [
        "wrk",
        "-H",
        f"Host: {host_header}",
        "-H",
        f"Accept: {spec['accept_header']}",
        "-H",
        "Connection: keep-alive",
        "--latency",
        "--timeout",
        f"{wrk_timeout_s}s",
        "-d",
        f"{point['duration_s']}s",
        "-c",
        str(point["concurrency"]),
        "-t",
        str(threads),
        "-s",
        script,
        url,
    ]
    if point["pipeline"] > 1:
        wrk += ["--", str(point["pipeline"])]
    return wrk


def _k6_command(
    k6: str,
    samples: str,
    point: Mapping[str, Any],
    url: str,
    host_header: str,
    spec: Mapping[str, Any],
    clients: int,
    wrk_timeout_s: int,
) -> list[str]:
    """k6 running wrk_scripts/open_loop.js, without the script's path: every VU started before the level
    (open_vus of them), the per-sample stream written where lab_wrk_run.py reduces it."""
    env = {
        "LAB_URL": url,
        "LAB_HOST": host_header,
        "LAB_ACCEPT": spec["accept_header"],
        "LAB_RATE": point["offered_rps"],
        "LAB_TIME_UNIT_S": clients,
        "LAB_DURATION_S": point["duration_s"],
        "LAB_TIMEOUT_S": wrk_timeout_s,
        "LAB_PRE_VUS": point["concurrency"],
        "LAB_MAX_VUS": point["concurrency"],
    }
    command = [k6, "run", "--quiet", "--no-usage-report", "--no-color", f"--out=csv={samples}"]
    for name, value in env.items():
        command += ["-e", f"{name}={value}"]
    return command


def plan(
    *,
    specs: Mapping[str, Mapping[str, Any]],
    settings: Mapping[str, Any],
    test_type: str,
    framework: str,
    frameworks: Sequence[str],
    framework_index: int,
    types: Sequence[str],
    all_types: Sequence[str],
    ceiling: bool,
    run_id: str,
    client: str,
    run_dir: str,
    scripts_dir: str,
    python: str,
    base_url: str,
    host_header: str,
    vcpus: int,
    wrk_timeout_s: int,
    pause_s: int,
    t0_ms: int | None = None,
    slack_s: int = 0,
    margin_s: int = 0,
    sweep_id: int | str = 0,
    clients: int = 1,
    k6: str = "k6",
) -> dict[str, Any]:
    """Everything one client needs to run one test type of one framework (see the module docstring).

    run_dir: this client's directory of the run (``<results>/<run id>``). base_url: where the client reaches
    the app (or the ceiling's prefix), without the type's path. t0_ms: the planned start of the first point
    when several clients start each point together (None: one client, plain pauses). A client with more
    vcpus than a point has connections runs one wrk thread per connection. sweep_id: names this sweep's
    progress file (a resume sweeps the same type again, and its waiters must not read the earlier lines).
    clients: how many clients share each open-loop point's offered rate (each sends rate / clients per
    second); k6: the k6 binary on the client (roles/wrk_client's venv).
    """
    spec = specs[test_type]
    sweep_points = points(spec, settings)
    synced = t0_ms is not None
    starts: list[int | None] = (
        list(schedule(sweep_points, t0_ms, pause_s, slack_s))
        if t0_ms is not None
        else [None] * len(sweep_points)
    )
    out_dir = f"{run_dir}/raw/{framework}/{test_type}/{client}"
    type_index = list(types).index(test_type)
    framework_text = (
        f"{framework} (before 1/{len(frameworks)})"
        if ceiling
        else f"{framework} {framework_index + 1}/{len(frameworks)}"
    )
    planned = []
    progress_stem = f"{run_dir}/sweeps/{framework}/{test_type}-{client}-{sweep_id}"
    for index, point in enumerate(sweep_points):
        url = f"{base_url}{point['path']}"
        offered = point["offered_rps"]
        threads = min(int(point["concurrency"]), int(vcpus)) if offered is None else None
        meta: dict[str, Any] = {
            "run_id": run_id,
            "framework": framework,
            "test_type": test_type,
            "phase": point["phase"],
            "level": point["level"],
            "concurrency": point["concurrency"],
            "pipeline": point["pipeline"],
            "queries": point["queries"],
            "repeat": point["repeat"],
            "client": client,
            "url": url,
            "threads": threads,
            "duration_s": point["duration_s"],
        }
        if offered is not None:
            # This client's share of the lab's rate (k6 sends `rate` per `clients` seconds: exact shares). A
            # meta without load_model is a closed-loop point, as every point was before the open model.
            meta.update(
                load_model="open",
                generator="k6",
                offered_rps=offered / int(clients),
                offered_rps_total=offered,
                clients=int(clients),
            )
            samples = f"{out_dir}/.{point['stem']}.samples.csv.gz"
            command = _k6_command(
                k6, samples, point, url, host_header, spec, int(clients), int(wrk_timeout_s)
            )
            command.append(f"{scripts_dir}/open_loop.js")
            generator_args = ["--k6-samples", samples]
        else:
            command = _wrk_command(point, url, host_header, spec, int(wrk_timeout_s), threads, scripts_dir)
            generator_args = []
        start_args = ["--start-at", str(starts[index])] if synced else []
        argv = [
            python,
            f"{scripts_dir}/lab_wrk_run.py",
            "--out",
            f"{out_dir}/{point['stem']}",
            "--meta",
            json.dumps(meta),
            "--skip-existing",
            *generator_args,
            *start_args,
            "--",
            *command,
        ]
        eta = remaining_s(
            specs,
            settings,
            pause_s=int(pause_s) + (int(slack_s) if synced else 0),
            start_s=int(margin_s) if synced else 0,
            frameworks=frameworks,
            framework_index=framework_index,
            types=types,
            type_index=type_index,
            point_index=index,
            all_types=all_types,
            ceiling=ceiling,
        )
        extras = (f", pipeline {point['pipeline']}" if point["pipeline"] > 1 else "") + (
            f", {point['queries']} queries" if point["queries"] else ""
        )
        load = (
            f"{offered} requests/s offered" if offered is not None else f"{point['concurrency']} connections"
        )
        progress = (
            f"{framework_text} | {test_type} {type_index + 1}/{len(types)}"
            f" | {point['stem']} ({index + 1}/{len(sweep_points)}):"
            f" {load}{extras},"
            f" {point['duration_s']} s | ETA {duration_text(eta)}"
        )
        planned.append(
            {"stem": point["stem"], "argv": argv, "progress": progress, "start_at_ms": starts[index]}
        )
    return {
        "framework": framework,
        "test_type": test_type,
        "client": client,
        "out_dir": out_dir,
        "progress_file": f"{progress_stem}.log",
        # With a schedule: where the controller writes the real t0 once every client's sweep has started.
        "go_file": f"{progress_stem}.go" if synced else None,
        "pid_file": f"{run_dir}/{PID_FILE}",
        # With a schedule the gap is in the planned starts; one client pauses between points itself.
        "pause_s": 0 if synced else int(pause_s),
        "points": planned,
        # An upper bound of the sweep's wall time, for the controller's async timeout.
        "timeout_s": sum(
            int(p["duration_s"]) + int(pause_s) + int(slack_s) + int(wrk_timeout_s) + 60 for p in sweep_points
        )
        + int(margin_s),
    }


# ------------------------------------------------------------------------------------------ on the client

_stop_requested = False


def _request_stop(signum: int, frame: FrameType | None) -> None:
    # A sweep left running by a killed controller is told to stop by the next run's `prepare`: the point
    # being measured finishes whole (the resume keeps it), no further point starts.
    global _stop_requested
    _stop_requested = True


def _sleep(seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not _stop_requested and (left := deadline - time.monotonic()) > 0:
        time.sleep(min(left, 0.1))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _is_sweep(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"labcore.sweep" in argv and b"run" in argv


def stop_earlier_sweep(run_dir: Path, timeout_s: float = 600.0) -> int | None:
    """Stop the sweep of this run a killed controller left running on this client; returns its pid, if any.

    It ends the point it is measuring (lab_wrk_run.py keeps it, whole) and starts no other, so a resume never
    loads the app twice at once.
    """
    pid_file = run_dir / PID_FILE
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    if pid == os.getpid() or not _alive(pid) or not _is_sweep(pid):
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return pid


@contextlib.contextmanager
def _running(progress_file: Path) -> Iterator[None]:
    """Holds a lock on the progress file while the sweep runs: ``wait`` knows a sweep has ended when it can
    take it. Locked before it appears under its name, so no waiter sees it unlocked too early."""
    progress_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = progress_file.with_name(f".{progress_file.name}.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        os.replace(tmp, progress_file)
        yield


def wait_for_go(go_file: Path, timeout_s: float) -> int:
    """The t0 (epoch ms) the controller wrote to go_file ({"t0_ms": N}); an error naming the file when none
    came in time. A file not yet written whole is not JSON, and is read again."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            return int(json.loads(go_file.read_text(encoding="utf-8"))["t0_ms"])
        if time.monotonic() > deadline or _stop_requested:
            raise RuntimeError(f"no start signal in {go_file} within {timeout_s:.0f} s")
        time.sleep(0.02)


def give_go(go_file: Path, t0_ms: int) -> None:
    """Write the start signal whole (a rename), so a sweep never reads half of it. The sweep it is for may not
    have made its directory yet: the signal can come first, and waits there."""
    go_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = go_file.with_name(f".{go_file.name}.{os.getpid()}")
    tmp.write_text(json.dumps({"t0_ms": t0_ms}), encoding="utf-8")
    os.replace(tmp, go_file)


def shift_starts(points: Sequence[Mapping[str, Any]], t0_ms: int) -> list[dict[str, Any]]:
    """The points with every planned start moved so that the first is at t0_ms (argv and start_at_ms)."""
    if not points or points[0]["start_at_ms"] is None:
        return [dict(point) for point in points]
    delta = t0_ms - int(points[0]["start_at_ms"])
    shifted = []
    for point in points:
        argv = list(point["argv"])
        at = argv.index("--start-at") + 1
        argv[at] = str(int(argv[at]) + delta)
        shifted.append({**point, "argv": argv, "start_at_ms": int(point["start_at_ms"]) + delta})
    return shifted


def run(sweep_plan: Mapping[str, Any]) -> dict[str, Any]:
    """Every point of the plan in order, the progress line of each as it ends; returns those that failed."""
    signal.signal(signal.SIGTERM, _request_stop)
    out_dir = Path(sweep_plan["out_dir"])
    pid_file = Path(sweep_plan["pid_file"])
    stop_earlier_sweep(pid_file.parent)
    out_dir.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{os.getpid()}\n")
    progress_file = Path(sweep_plan["progress_file"])
    incomplete: list[dict[str, Any]] = []
    ended = 0
    signal_lead_ms: int | None = None
    planned = list(sweep_plan["points"])
    with _running(progress_file):
        if sweep_plan.get("go_file"):
            try:
                t0_ms = wait_for_go(Path(sweep_plan["go_file"]), sweep_plan["timeout_s"])
                # What was left of the margin when the signal came: how close a start was to being late.
                signal_lead_ms = t0_ms - time.time_ns() // 1_000_000
                planned = shift_starts(planned, t0_ms)
            except RuntimeError as error:
                planned = []
                incomplete.append({"stem": "start", "rc": 1, "stdout": str(error), "stderr": str(error)})
        for index, point in enumerate(planned):
            if _stop_requested:
                break
            if index > 0 and sweep_plan["pause_s"]:
                _sleep(int(sweep_plan["pause_s"]))
                if _stop_requested:
                    break
            proc = subprocess.run(point["argv"], capture_output=True, text=True, check=False)
            lines = proc.stdout.strip().splitlines()
            outcome = lines[-1] if lines else f"{point['stem']}: no output (exit {proc.returncode})"
            if proc.returncode != 0:
                incomplete.append(
                    {
                        "stem": point["stem"],
                        "rc": proc.returncode,
                        "stdout": proc.stdout,
                        "stderr": proc.stderr,
                    }
                )
            line = f"{point['progress']} | {outcome}"
            with open(progress_file, "a", encoding="utf-8") as handle:
                handle.write(line + "\n")
            print(line, flush=True)
            ended += 1
    with contextlib.suppress(OSError):
        if pid_file.read_text().strip() == str(os.getpid()):
            pid_file.unlink()
    return {
        "points": len(sweep_plan["points"]),
        "ended": ended,
        "stopped": _stop_requested,
        "incomplete": incomplete,
        "signal_lead_ms": signal_lead_ms,
    }


def _job_ended(job_file: Path | None) -> bool:
    """Whether Ansible's async job (the sweep) has ended: its results file then holds the command's result."""
    if job_file is None:
        return False
    try:
        result = json.loads(job_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(result, dict) and result.get("finished", 1) != 0


def wait(progress_file: Path, index: int, timeout_s: float, job_file: Path | None = None) -> str | None:
    """The progress line of point ``index`` once it has ended; None when the sweep ended without it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lines = progress_file.read_text(encoding="utf-8").splitlines() if progress_file.exists() else []
        if len(lines) > index:
            return lines[index]
        if (progress_file.exists() and not _locked(progress_file)) or _job_ended(job_file):
            lines = progress_file.read_text(encoding="utf-8").splitlines() if progress_file.exists() else []
            return lines[index] if len(lines) > index else None
        time.sleep(0.1)
    return None


def _locked(path: Path) -> bool:
    with open(path, encoding="utf-8") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False


def prepare(run_dir: Path, drop: Sequence[str]) -> list[str]:
    """Before a run's first sweep on this client: stop a sweep a killed controller left running, and drop the
    points of the framework/type pairs to measure again (a resume after the database was unreachable)."""
    said = []
    stopped = stop_earlier_sweep(run_dir)
    if stopped is not None:
        said.append(f"stopped the sweep left running by an earlier controller (pid {stopped})")
    for pair in drop:
        framework, _, test_type = pair.partition("/")
        if not framework or not test_type or "/" in test_type or ".." in pair:
            raise ValueError(f"--drop takes FRAMEWORK/TYPE, got {pair!r}")
        target = run_dir / "raw" / framework / test_type
        if target.exists():
            shutil.rmtree(target)
            said.append(f"dropped {framework}/{test_type} to measure it again")
    return said


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m labcore.sweep", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="run the plan read on stdin")
    waiter = commands.add_parser("wait", help="print point N's progress line once it has ended")
    waiter.add_argument("progress_file", type=Path)
    waiter.add_argument("index", type=int)
    waiter.add_argument("--timeout", type=float, default=3600.0)
    waiter.add_argument("--job", type=Path, help="Ansible's results file of the sweep's async job")
    goer = commands.add_parser("go", help="give the start signal: the first point's instant (epoch ms)")
    goer.add_argument("go_file", type=Path)
    goer.add_argument("t0_ms", type=int)
    preparer = commands.add_parser("prepare", help="before a run's first sweep on this client")
    preparer.add_argument("run_dir", type=Path)
    preparer.add_argument("--drop", action="append", default=[], metavar="FRAMEWORK/TYPE")
    args = parser.parse_args(argv)
    if args.command == "run":
        summary = run(json.load(sys.stdin))
        print(json.dumps(summary))
        return 0
    if args.command == "wait":
        line = wait(args.progress_file, args.index, args.timeout, args.job)
        if line is None:
            print(f"point {args.index + 1}: the sweep ended before it did")
            return 1
        print(line)
        return 0
    if args.command == "go":
        give_go(args.go_file, args.t0_ms)
        return 0
    for said in prepare(args.run_dir, args.drop):
        print(said)
    return 0


if __name__ == "__main__":
    sys.exit(main())
