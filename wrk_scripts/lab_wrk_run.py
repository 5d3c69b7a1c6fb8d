#!/usr/bin/env python3
"""Run one load generator measurement and save it as a result triple (runs on the client host; stdlib only).

    lab_wrk_run.py --out PREFIX --meta JSON_OBJECT [--start-at EPOCH_MS] [--skip-existing] -- wrk ARGS...
    lab_wrk_run.py --out PREFIX --meta JSON_OBJECT --k6-samples FILE.csv.gz ... -- k6 run ... open_loop.js

wrk measures the closed-loop points; k6 the open-loop ones (docs/load-generators.md). With --k6-samples,
k6 writes its per-sample stream to that file (its `--out csv=` must name it), and once k6 has exited the
stream is reduced to the report (labcore/k6_report.py: report.lua's keys, the whole histogram, offered
against achieved rate; the meta object must hold offered_rps) and removed.

Writes, next to each other (docs/design.md, "Results directory"):

    PREFIX.txt        the generator's stdout exactly as printed (plus stderr when it is missing or fails)
    PREFIX.json       the object written by report.lua's done() (wrk runs with WRK_REPORT_JSON set), or
                      the reduced k6 stream
    PREFIX.meta.json  the --meta object merged with start_ms, end_ms, exit_code, command, hostname, and with
                      --start-at: planned_start_ms and start_late_ms (how late wrk started, 0 when on time)

Every file is written to a temporary name and renamed into place, and PREFIX.meta.json is removed before the
run and written LAST: its presence means "this point finished". A run that was killed leaves no meta file.

Exit status: the generator's exit status; 127 when it cannot be started; 3 when it exited 0 but left no
valid report (the wrk command must load report.lua or pipeline.lua; k6's stream must hold its samples).
With --skip-existing, a point whose meta file says exit_code 0 (and whose .txt and .json exist) is kept: the
script prints that and exits 0 without running.

--start-at is the start barrier of several clients (labcore/sweep.py, "The schedule"): the script
sleeps until that wall-clock time, then starts wrk. When it is called after that time it starts at once, and
start_late_ms says by how much it missed the barrier.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

EXIT_NO_REPORT = 3
PR_SET_PDEATHSIG = 1
EXIT_NOT_FOUND = 127
REPORT_ENV = "WRK_REPORT_JSON"


def _paths(prefix: str) -> dict[str, Path]:
    return {
        "txt": Path(prefix + ".txt"),
        "json": Path(prefix + ".json"),
        "meta": Path(prefix + ".meta.json"),
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def _point_lock(directory: Path) -> Iterator[int]:
    """Holds a lock on the output directory itself (flock, no lock file among the results): one run at a time
    per framework, type and client.

    A benchmark resumed right after its controller was killed finds the interrupted point still running (the
    killed controller's command goes on): it waits here, then keeps what that run finished. wrk inherits the
    lock, so it stays held for as long as either process lives. Yields the lock's file descriptor.
    """
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"lab_wrk_run: waiting for the lock on {directory} (another run goes on)", file=sys.stderr)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd
    finally:
        os.close(fd)


def _remove_leftovers(paths: dict[str, Path]) -> None:
    """Temporary files of an earlier run of this point that was killed before it could rename them."""
    for path in paths.values():
        for leftover in path.parent.glob(f".{path.name}.*-*"):
            leftover.unlink(missing_ok=True)


def _die_with_parent() -> None:
    """In wrk, before exec: if this script is killed, the kernel kills wrk too (no orphan load on the app)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _finished_point(paths: dict[str, Path]) -> dict[str, Any] | None:
    """The meta object of an already finished, successful point, else None."""
    try:
        meta = json.loads(paths["meta"].read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("exit_code") != 0:
        return None
    if not (paths["txt"].is_file() and paths["json"].is_file()):
        return None
    return meta


def _wait_until(start_at_ms: int) -> None:
    delay_s = (start_at_ms - _now_ms()) / 1000.0
    if delay_s < 0:
        print(f"lab_wrk_run: --start-at is {-delay_s:.3f}s in the past; starting now", file=sys.stderr)
        return
    time.sleep(delay_s)


def _split_argv(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" not in argv:
        return argv, []
    cut = argv.index("--")
    return argv[:cut], argv[cut + 1 :]


def _parse_args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    own, command = _split_argv(argv)
    parser = argparse.ArgumentParser(
        prog="lab_wrk_run.py",
        description="Run wrk once and save PREFIX.txt, PREFIX.json, PREFIX.meta.json.",
        usage="%(prog)s --out PREFIX --meta JSON [--start-at EPOCH_MS] [--skip-existing] -- wrk ARGS...",
    )
    parser.add_argument("--out", required=True, help="path prefix of the three files")
    parser.add_argument("--meta", required=True, help="JSON object stored in PREFIX.meta.json")
    parser.add_argument("--start-at", type=int, default=None, help="wall-clock start time (epoch ms)")
    parser.add_argument("--skip-existing", action="store_true", help="keep a point that already finished")
    parser.add_argument(
        "--k6-samples", type=Path, default=None, help="k6's per-sample CSV stream (open loop)"
    )
    args = parser.parse_args(own)
    if not command:
        parser.error("the wrk command must follow '--'")
    try:
        meta = json.loads(args.meta)
    except ValueError as exc:
        parser.error(f"--meta is not valid JSON: {exc}")
    if not isinstance(meta, dict):
        parser.error("--meta must be a JSON object")
    if args.k6_samples is not None and not isinstance(meta.get("offered_rps"), int | float):
        parser.error("--k6-samples needs the offered rate in the meta object (offered_rps)")
    args.meta = meta
    return args, command


def _load_report(path: Path) -> dict[str, Any] | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None


def _summary_line(stem: str, report: dict[str, Any] | None, meta: dict[str, Any], exit_code: int) -> str:
    if report is None:
        return f"{stem}: FAILED exit_code={exit_code} (no report)"
    requests = int(report.get("requests", 0))
    duration_s = meta.get("duration_s") or report.get("duration_us", 0) / 1e6
    rate = requests / duration_s if duration_s else 0.0
    errors = report.get("errors", {})
    error_text = " ".join(
        f"{key}={errors.get(key, 0)}" for key in ("connect", "read", "write", "timeout", "status")
    )
    open_loop = report.get("open_loop")
    schedule = (
        f" offered={open_loop['offered_rps']:g}/s dropped={open_loop['dropped_iterations']}"
        if isinstance(open_loop, dict)
        else ""
    )
    return (
        f"{stem}: requests={requests} req/s={rate:.2f}{schedule} errors: {error_text} exit_code={exit_code}"
    )


def _k6_report(
    samples: Path, meta: dict[str, Any], exit_code: int, wall_us: int
) -> tuple[dict[str, Any] | None, str]:
    """The reduced k6 stream (None when k6 failed or left no usable stream) and what went wrong. The stream
    is removed either way: the histogram keeps every sample's latency to 0.1 %."""
    try:
        if exit_code != 0:
            return None, ""
        # Imported here: the closed-loop points never need it. labcore/ sits beside this script on a client
        # (roles/wrk_client), one directory up in the repository.
        here = Path(__file__).resolve().parent
        sys.path.insert(0, str(here if (here / "labcore").is_dir() else here.parent))
        from labcore.k6_report import K6ReportError, reduce_file

        try:
            report = reduce_file(
                samples,
                offered_rps=float(meta["offered_rps"]),
                duration_s=float(meta["duration_s"]),
                wall_us=wall_us,
            )
        except (OSError, EOFError, K6ReportError, ValueError) as exc:
            return None, f"lab_wrk_run: k6's sample stream {samples} is not usable: {exc}"
        return report, ""
    finally:
        samples.unlink(missing_ok=True)


def run(argv: list[str]) -> int:
    args, command = _parse_args(argv)
    paths = _paths(args.out)
    stem = paths["meta"].name[: -len(".meta.json")]

    paths["meta"].parent.mkdir(parents=True, exist_ok=True)
    with _point_lock(paths["meta"].parent) as lock_fd:
        if args.skip_existing and _finished_point(paths) is not None:
            print(f"{stem}: kept (finished earlier, exit_code 0): {paths['meta']}")
            return 0
        _remove_leftovers(paths)
        return _measure(args, command, paths, stem, lock_fd)


def _measure(
    args: argparse.Namespace, command: list[str], paths: dict[str, Path], stem: str, lock_fd: int
) -> int:
    paths["meta"].unlink(missing_ok=True)
    report_tmp = paths["json"].with_name(f".{paths['json'].name}.wrk-{os.getpid()}")
    report_tmp.unlink(missing_ok=True)
    if args.k6_samples is not None:
        args.k6_samples.unlink(missing_ok=True)

    if args.start_at is not None:
        _wait_until(args.start_at)

    env = dict(os.environ)
    env[REPORT_ENV] = str(report_tmp.resolve())
    start_ms = _now_ms()
    try:
        proc = subprocess.run(
            command,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            pass_fds=(lock_fd,),
            # Safe here: this script has a single thread.
            preexec_fn=_die_with_parent,
        )
        exit_code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except OSError as exc:
        exit_code, stdout, stderr = EXIT_NOT_FOUND, "", f"lab_wrk_run: cannot run {command[0]!r}: {exc}\n"
    end_ms = _now_ms()

    if args.k6_samples is not None:
        report, problem = _k6_report(args.k6_samples, args.meta, exit_code, (end_ms - start_ms) * 1000)
        if report is not None:
            _atomic_write(report_tmp, json.dumps(report, sort_keys=True) + "\n")
    else:
        report = _load_report(report_tmp) if exit_code == 0 else None
        problem = f"lab_wrk_run: wrk wrote no valid JSON report to {REPORT_ENV} (load report.lua)"
    if exit_code == 0 and report is None:
        exit_code = EXIT_NO_REPORT
        stderr += problem + "\n"

    text = stdout if exit_code == 0 else stdout + stderr
    _atomic_write(paths["txt"], text)
    if report is not None:
        os.replace(report_tmp, paths["json"])
    else:
        report_tmp.unlink(missing_ok=True)
        paths["json"].unlink(missing_ok=True)

    meta = dict(args.meta)
    meta.update({"start_ms": start_ms, "end_ms": end_ms, "exit_code": exit_code, "command": command})
    # The host's own name (not the inventory's): proof of where wrk ran.
    meta["hostname"] = socket.gethostname()
    if args.start_at is not None:
        meta["planned_start_ms"] = args.start_at
        meta["start_late_ms"] = max(0, start_ms - args.start_at)
    if stderr.strip():
        meta["stderr"] = stderr
    _atomic_write(paths["meta"], json.dumps(meta, indent=2, sort_keys=True) + "\n")

    if stderr.strip():
        sys.stderr.write(stderr)
    print(_summary_line(stem, report, meta, exit_code))
    return exit_code


def main() -> None:
    sys.exit(run(sys.argv[1:]))


if __name__ == "__main__":
    main()
