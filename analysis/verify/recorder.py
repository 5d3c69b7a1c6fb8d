"""The database side of one verification: snapshots of sql.py, each with the db host's wall-clock time.

    python -m verify.recorder start --out FILE --pidfile FILE [--host DIR --port N ...] [--deadline S]
    python -m verify.recorder stop --pidfile FILE
    python -m verify.recorder run --out FILE [...]          (the loop itself, in the foreground)

Only the db host can read the snapshots (pg_hba admits the app hosts alone), while the checks run on the
client, the one tier that reaches the app. So the recorder runs beside Postgres for the whole verification
and the client marks when each of its phases ran; the controller later picks, for each phase, the snapshots
taken in the quiet gaps around it (timeline.py). What the recorder takes:

- a WORLDS snapshot first (flagged "ready": the client starts after it, so it comes before the HTTP checks);
- a COUNTERS sample every --interval seconds;
- a WORLDS snapshot whenever the counters have not moved for --idle seconds, at most one every --worlds-every
  seconds (a snapshot equal to the one before is written as a reference to it: the tables are 200 kB).

It speaks to one psql process over a pipe, as the superuser over the unix socket, with pg_stat_statements
tracking switched off for its own session, so that its statements (WORLDS reads world) are never counted by
the database-hit check. One JSON object per line, flushed as it is written:

    {"recorder": "started", "t": T, "pid": P, ...}
    {"n": 0, "t0": T, "t1": T, "worlds": {...}, "ready": true}
    {"n": 1, "t0": T, "t1": T, "counters": {...}}
    {"n": 7, "t0": T, "t1": T, "worlds_as": 0}
    {"t": T, "error": "..."}                        (once per distinct error in a row)
    {"recorder": "stopped", "t": T, "why": "stop requested" | "deadline"}

t0 and t1 bracket the statement (time.time() before sending it and after its answer). It stops on SIGTERM
(`stop`) or at the deadline, so a recorder nobody stopped does not outlive the run. Standard library only: the
db host runs it with its system Python from a copy of this package (roles/postgres installs it).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

from .sql import COUNTERS, WORLDS

_END = "__lab_recorder_end__"
# A psql that answered nothing for this long is taken for dead and started again.
_QUERY_TIMEOUT_S = 30.0


class QueryError(Exception):
    pass


class Psql:
    """One psql over a pipe; each statement's answer ends at an \\echo marker (psql flushes after each)."""

    def __init__(self, argv: Sequence[str]) -> None:
        env = dict(os.environ, PGAPPNAME="lab-verify-recorder")
        self.process = subprocess.Popen(
            [*argv, "-X", "-A", "-t", "-q"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )  # fmt: skip

    def lines(self, sql: str) -> list[str]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(" ".join(sql.split()) + ";\n\\echo " + _END + "\n")
            stdin.flush()
        except OSError as e:
            raise QueryError(f"psql exited ({self.exit_text()}): {e}") from e
        out: list[str] = []
        while True:
            line = stdout.readline()
            if not line:
                raise QueryError(f"psql exited ({self.exit_text()}): {' '.join(out).strip() or 'no output'}")
            if line.strip() == _END:
                return out
            out.append(line.rstrip("\n"))

    def snapshot(self, sql: str) -> Any:
        """The one JSON value a statement of sql.py returns."""
        out = [line for line in self.lines(sql) if line.strip()]
        if len(out) == 1:
            with contextlib.suppress(json.JSONDecodeError):
                return json.loads(out[0])
        raise QueryError(" ".join(out).strip() or "no result")

    def exit_text(self) -> str:
        code = self.process.poll()
        return "still running" if code is None else f"exit status {code}"

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stdout is not None:
            self.process.stdout.close()


class _Stop:
    requested = False

    @classmethod
    def request(cls, signum: int, frame: FrameType | None) -> None:
        cls.requested = True


class Recorder:
    def __init__(
        self, psql_argv: Sequence[str], out: IO[str], interval: float, idle: float, worlds_every: float
    ) -> None:
        self.psql_argv = list(psql_argv)
        self.out = out
        self.interval, self.idle, self.worlds_every = interval, idle, worlds_every
        self.psql: Psql | None = None
        self.n = 0
        self.ready = False
        self.last_error = ""
        self.last_worlds: tuple[int, str] | None = None  # (n, its JSON text)
        self.last_worlds_t = float("-inf")
        self.counters: Any = None
        self.counters_moved_t = float("-inf")

    def write(self, record: dict[str, Any]) -> None:
        self.out.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.out.flush()

    def error(self, text: str) -> None:
        if text != self.last_error:
            self.write({"t": round(time.time(), 4), "error": text})
            self.last_error = text

    def _connected(self) -> Psql:
        if self.psql is None:
            try:
                psql = Psql(self.psql_argv)
            except OSError as e:
                raise QueryError(f"cannot start psql: {e}") from e
            try:
                # A superuser may switch tracking off for its session: the recorder's statements never count.
                psql.lines("SET pg_stat_statements.track = none")
            except QueryError:
                psql.close()
                raise
            self.psql = psql
        return self.psql

    def _take(self, sql: str) -> tuple[float, float, Any] | None:
        try:
            psql = self._connected()
            t0 = time.time()
            value = psql.snapshot(sql)
            t1 = time.time()
        except QueryError as e:
            self.error(str(e))
            if self.psql is not None and self.psql.process.poll() is not None:
                self.psql.close()
                self.psql = None
            return None
        self.last_error = ""
        return t0, t1, value

    def _record(self, t0: float, t1: float, **fields: Any) -> int:
        n = self.n
        self.n += 1
        self.write({"n": n, "t0": round(t0, 4), "t1": round(t1, 4), **fields})
        return n

    def worlds(self) -> bool:
        taken = self._take(WORLDS)
        if taken is None:
            return False
        t0, t1, value = taken
        text = json.dumps(value, sort_keys=True)
        self.last_worlds_t = t1
        extra = {} if self.ready else {"ready": True}
        if self.last_worlds is not None and self.last_worlds[1] == text:
            self._record(t0, t1, worlds_as=self.last_worlds[0], **extra)
        else:
            self.last_worlds = (self._record(t0, t1, worlds=value, **extra), text)
        self.ready = True
        return True

    def sample(self) -> None:
        taken = self._take(COUNTERS)
        if taken is not None:
            t0, t1, value = taken
            self._record(t0, t1, counters=value)
            if value != self.counters:
                self.counters, self.counters_moved_t = value, t1
        # Counters that cannot be read (no pg_stat_statements) cannot tell quiet times: World all the same.
        quiet = taken is None or time.time() - self.counters_moved_t >= self.idle
        if quiet and time.time() - self.last_worlds_t >= self.worlds_every:
            self.worlds()

    def run(self, deadline: float, ready_file: Path | None) -> str:
        while not self.ready and not _Stop.requested and time.time() < deadline:
            if self.worlds():
                if ready_file is not None:
                    ready_file.write_text(f"{time.time()}\n")
                break
            time.sleep(max(self.interval, 0.5))
        due = time.monotonic()
        while not _Stop.requested and time.time() < deadline:
            due += self.interval
            time.sleep(max(0.0, due - time.monotonic()))
            due = max(due, time.monotonic() - self.interval)  # a late tick is not made up for with a burst
            self.sample()
        if self.psql is not None:
            self.psql.close()
        return "stop requested" if _Stop.requested else "deadline"


def psql_argv(args: argparse.Namespace) -> list[str]:
    return ["psql", "-h", args.host, "-p", str(args.port), "-U", args.user, "-d", args.dbname]


def cmd_run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _Stop.request)
    signal.signal(signal.SIGINT, _Stop.request)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as out:
        recorder = Recorder(psql_argv(args), out, args.interval, args.idle, args.worlds_every)
        settings = {"interval": args.interval, "idle": args.idle, "worlds_every": args.worlds_every}
        recorder.write({"recorder": "started", "t": round(time.time(), 4), "pid": os.getpid(), **settings})
        why = recorder.run(time.time() + args.deadline, args.ready_file)
        recorder.write({"recorder": "stopped", "t": round(time.time(), 4), "why": why})
    return 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie (exited, not yet reaped by a parent that is still there) counts as gone.
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return False
    return True


def stop(pidfile: Path, wait_s: float = 10.0) -> str:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return "not running"
    pidfile.unlink(missing_ok=True)
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return "not running"
    deadline = time.monotonic() + wait_s
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    return "stopped"


def _last_error(path: Path) -> str:
    errors = [
        record["error"]
        for record in (json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line)
        if "error" in record
    ]
    return errors[-1] if errors else ""


def cmd_start(args: argparse.Namespace) -> int:
    """Start `run` in its own session (its pid in --pidfile); return once it is ready or --ready-timeout."""
    stop(args.pidfile)
    args.out.unlink(missing_ok=True)
    ready = args.out.with_name(args.out.name + ".ready")
    ready.unlink(missing_ok=True)
    args.pidfile.parent.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", __spec__.name if __spec__ else "verify.recorder", "run",
            "--out", str(args.out), "--ready-file", str(ready), "--deadline", str(args.deadline),
            "--interval", str(args.interval), "--idle", str(args.idle),
            "--worlds-every", str(args.worlds_every), "--host", args.host, "--port", str(args.port),
            "--user", args.user, "--dbname", args.dbname]  # fmt: skip
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    args.pidfile.write_text(f"{process.pid}\n")
    deadline = time.monotonic() + args.ready_timeout
    while not ready.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    result: dict[str, Any] = {"pid": process.pid, "ready": ready.exists(), "out": str(args.out)}
    if not result["ready"]:
        # It goes on trying (the database may come back); the grading names the snapshots it could not take.
        result["error"] = _last_error(args.out) if args.out.exists() else "no output"
        if process.poll() is not None:
            result["error"] += f" (the recorder exited with status {process.returncode})"
    print(json.dumps(result))
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    print(stop(args.pidfile))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m verify.recorder", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "start"):
        sub = commands.add_parser(name)
        sub.add_argument("--out", type=Path, required=True, help="the recording (JSON lines)")
        sub.add_argument("--host", default="/var/run/postgresql", help="psql -h: the unix socket's directory")
        sub.add_argument("--port", type=int, default=5432)
        sub.add_argument("--user", default="postgres", help="a superuser")
        sub.add_argument("--dbname", default="hello_world")
        sub.add_argument("--deadline", type=float, default=1800.0, help="seconds before it stops by itself")
        sub.add_argument("--interval", type=float, default=0.04, help="seconds between counter samples")
        sub.add_argument("--idle", type=float, default=0.1, help="counters still this long: a World snapshot")
        sub.add_argument("--worlds-every", type=float, default=0.2, help="seconds between World snapshots")
    commands.choices["run"].add_argument("--ready-file", type=Path, help="written once the first World is in")
    commands.choices["start"].add_argument("--pidfile", type=Path, required=True)
    # Ready takes a fraction of a second; without the database the verification should not wait long for it.
    commands.choices["start"].add_argument("--ready-timeout", type=float, default=5.0)
    commands.add_parser("stop").add_argument("--pidfile", type=Path, required=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return {"run": cmd_run, "start": cmd_start, "stop": cmd_stop}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
