#!/usr/bin/env python3
"""Resource sampler of one lab host: sysstat's sadc, one sample a second, one binary file per segment.

    lab-sampler start --dir DIR --segment NAME --pidfile FILE [--interval 1] [--count N]
    lab-sampler stop --pidfile FILE
    lab-sampler convert --dir DIR

start   stops the sampler of FILE if one runs and starts a new one in its own session (its pid in FILE): a
        loop that appends one record to DIR/NAME.sa with `sadc -S DISK 1 1` (as sysstat's own sa1 does) at
        every whole second plus half a second, N + 1 times at most (the first record is the baseline; N
        bounds the life of a sampler nobody stopped). The schedule is absolute, so it never drifts (sadc's
        own interval timer does, by milliseconds a sample on a loaded host), and sadf, which prints a
        sample's time truncated to the second, prints T for the sample taken at T.500: DIR/NAME.start.json
        gives that offset (start_ms). A slot the loop reaches more than half an interval late is skipped
        (sadf then shows a 2 s interval), so that the printed second stays right.
stop    stops the loop of FILE between two samples (SIGTERM) and waits for it. Prints "stopped" or "not
        running" (for Ansible's changed_when).
convert writes DIR/<segment>.sa.json (`sadf -j`: CPU per core, memory, network per interface, context
        switches) for every DIR/*.sa newer than its JSON. Prints "converted N"; a file sadf cannot read is
        named on stderr and left out.

Runs on the lab hosts: standard library only. Every path comes from the caller (the playbooks derive them
from lab_host_id), so several inventory hosts can share one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

SADC_CANDIDATES = ("/usr/lib/sysstat/sadc", "/usr/lib64/sa/sadc", "/usr/libexec/sysstat/sadc")
SADF_ACTIVITIES = ["-u", "ALL", "-P", "ALL", "-r", "-n", "DEV", "-w"]
STOP_TIMEOUT_S = 10.0
START_TIMEOUT_S = 10.0
# A week of 1 s samples: a sampler nobody stopped (the controller died) still ends.
DEFAULT_COUNT = 7 * 24 * 3600
# How long the loop sleeps at a time while it waits: the latency of a stop.
TICK_S = 0.05
LOOP_COMMAND = "loop"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _find_sadc() -> str:
    for candidate in SADC_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit(f"lab-sampler: sadc not found in {', '.join(SADC_CANDIDATES)} (install sysstat)")


def _alive_loop(pid: int) -> bool:
    """True while pid is a running (not zombie) sampler loop."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z" and LOOP_COMMAND.encode() in cmdline and any(b"sampler" in part for part in cmdline)


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def stop(pidfile: Path) -> str:
    pid = _read_pid(pidfile)
    if pid is None or not _alive_loop(pid):
        pidfile.unlink(missing_ok=True)
        return "not running"
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while _alive_loop(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(TICK_S)
    pidfile.unlink(missing_ok=True)
    return "stopped"


def start(directory: Path, segment: str, pidfile: Path, interval: int, count: int) -> dict[str, object]:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", segment):
        raise SystemExit(f"lab-sampler: --segment {segment!r}: only letters, digits, '_', '.' and '-'")
    stop(pidfile)
    directory.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    data = directory / f"{segment}.sa"
    record_file = directory / f"{segment}.start.json"
    if data.exists() or record_file.exists():
        raise SystemExit(f"lab-sampler: {data} exists; every start needs a new --segment")
    sadc = _find_sadc()
    loop = [sys.executable, os.path.abspath(__file__), LOOP_COMMAND, "--data", str(data)]
    loop += ["--record", str(record_file), "--interval", str(interval), "--count", str(count), "--sadc", sadc]
    process = subprocess.Popen(
        loop,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    pidfile.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT_S
    while not record_file.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"lab-sampler: the sampler loop did not start ({loop})")
        time.sleep(TICK_S)
    record: dict[str, object] = json.loads(record_file.read_text())
    return record


class _Stop:
    requested = False

    @classmethod
    def request(cls, signum: int, frame: FrameType | None) -> None:
        cls.requested = True


def _sleep_until(due_ms: int) -> None:
    while not _Stop.requested and _now_ms() < due_ms:
        time.sleep(min(TICK_S, max(due_ms - _now_ms(), 0) / 1000.0))


def run_loop(data: Path, record_file: Path, interval: int, count: int, sadc: str) -> int:
    signal.signal(signal.SIGTERM, _Stop.request)
    signal.signal(signal.SIGINT, _Stop.request)
    now = _now_ms()
    first_ms = now - now % 1000 + 500 + (1000 if now % 1000 >= 400 else 0)
    record = {
        "segment": data.name.removesuffix(".sa"),
        "start_ms": first_ms,
        "interval_s": interval,
        "count": count,
        "pid": os.getpid(),
        "command": [sadc, "-S", "DISK", "1", "1", str(data)],
    }
    tmp = record_file.with_name(f".{record_file.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, record_file)
    for index in range(count + 1):
        due_ms = first_ms + index * interval * 1000
        _sleep_until(due_ms)
        if _Stop.requested:
            break
        if _now_ms() - due_ms > interval * 500:
            continue  # too late to be printed as this second: leave the slot out
        subprocess.run(
            [sadc, "-S", "DISK", "1", "1", str(data)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
    return 0


def convert(directory: Path) -> int:
    converted = 0
    for data in sorted(directory.glob("*.sa")):
        target = data.with_name(data.name + ".json")
        if target.exists() and target.stat().st_mtime >= data.stat().st_mtime:
            continue
        proc = subprocess.run(
            ["sadf", "-j", str(data), "--", *SADF_ACTIVITIES],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            # A segment sadf cannot read must not cost the run its other segments.
            print(
                f"lab-sampler: sadf -j {data} failed ({proc.returncode}): {proc.stderr.strip()}",
                file=sys.stderr,
            )
            continue
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(proc.stdout)
        os.replace(tmp, target)
        converted += 1
    return converted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab-sampler", description=(__doc__ or "").split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    start_parser = commands.add_parser("start", help="start a sampler into a new segment")
    start_parser.add_argument("--dir", required=True, type=Path)
    start_parser.add_argument("--segment", required=True)
    start_parser.add_argument("--pidfile", required=True, type=Path)
    start_parser.add_argument("--interval", type=int, default=1)
    start_parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    stop_parser = commands.add_parser("stop", help="stop the sampler of a pidfile")
    stop_parser.add_argument("--pidfile", required=True, type=Path)
    convert_parser = commands.add_parser("convert", help="sadf -j every segment of a directory")
    convert_parser.add_argument("--dir", required=True, type=Path)
    loop_parser = commands.add_parser(LOOP_COMMAND, help="(internal) the sampling loop start runs")
    loop_parser.add_argument("--data", required=True, type=Path)
    loop_parser.add_argument("--record", required=True, type=Path)
    loop_parser.add_argument("--interval", type=int, default=1)
    loop_parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    loop_parser.add_argument("--sadc", required=True)
    args = parser.parse_args(argv)

    if args.command == "start":
        print(json.dumps(start(args.dir, args.segment, args.pidfile, args.interval, args.count)))
    elif args.command == "stop":
        print(stop(args.pidfile))
    elif args.command == "convert":
        print(f"converted {convert(args.dir)}")
    else:
        return run_loop(args.data, args.record, args.interval, args.count, args.sadc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
