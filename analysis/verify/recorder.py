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

It speaks to one client process over a pipe (psql, or the mariadb client with --engine mysql), as the
superuser over the unix socket, with its own session's statistics switched off (sql.SESSION_SETUP), so that
its statements (WORLDS reads world) are never counted by the database-hit check. One JSON object per line,
flushed as it is written:

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
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

from .sql import ENGINES, SESSION_SETUP, statements

_END = "__lab_recorder_end__"
# How each engine's client is told to print the end marker after a statement's answer.
_END_STATEMENT = {"postgres": "\\echo " + _END, "mysql": f"SELECT '{_END}';"}


class QueryError(Exception):
    pass


class Client:
    """One database client over a pipe; each statement's answer ends at a marker the client prints after it
    (psql's \\echo, a SELECT of the marker for mariadb --unbuffered: both flush after each statement)."""

    def __init__(self, argv: Sequence[str], engine: str = "postgres") -> None:
        env = dict(os.environ, PGAPPNAME="lab-verify-recorder")
        self.end_statement = _END_STATEMENT[engine]
        self.process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )

    def lines(self, sql: str) -> list[str]:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(" ".join(sql.split()) + ";\n" + self.end_statement + "\n")
            stdin.flush()
        except OSError as e:
            raise QueryError(f"{self.name()} exited ({self.exit_text()}): {e}") from e
        out: list[str] = []
        while True:
            line = stdout.readline()
            if not line:
                raise QueryError(
                    f"{self.name()} exited ({self.exit_text()}): {' '.join(out).strip() or 'no output'}"
                )
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

    def name(self) -> str:
        return Path(str(self.process.args[0])).name  # type: ignore[index]

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
        self,
        client_argv: Sequence[str],
        out: IO[str],
        interval: float,
        idle: float,
        worlds_every: float,
        engine: str = "postgres",
    ) -> None:
        self.client_argv = list(client_argv)
        self.engine = engine
        self.statements = statements(engine)
        self.out = out
        self.interval, self.idle, self.worlds_every = interval, idle, worlds_every
        self.client: Client | None = None
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

    def _connected(self) -> Client:
        if self.client is None:
            try:
                client = Client(self.client_argv, self.engine)
            except OSError as e:
                raise QueryError(f"cannot start {self.client_argv[0]}: {e}") from e
            try:
                # What these answer is not checked: where they fail, so does COUNTERS, and the
                # grading names the snapshots that could not be taken.
                for setup in SESSION_SETUP[self.engine]:
                    client.lines(setup)
            except QueryError:
                client.close()
                raise
            self.client = client
        return self.client

    def _take(self, sql: str) -> tuple[float, float, Any] | None:
        try:
            client = self._connected()
            t0 = time.time()
            value = client.snapshot(sql)
            t1 = time.time()
        except QueryError as e:
            self.error(str(e))
            if self.client is not None and self.client.process.poll() is not None:
                self.client.close()
                self.client = None
            return None
        self.last_error = ""
        return t0, t1, value

    def _record(self, t0: float, t1: float, **fields: Any) -> int:
        n = self.n
        self.n += 1
        self.write({"n": n, "t0": round(t0, 4), "t1": round(t1, 4), **fields})
        return n

    def worlds(self) -> bool:
        taken = self._take(self.statements["worlds"])
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
        taken = self._take(self.statements["counters"])
        if taken is not None:
            t0, t1, value = taken
            self._record(t0, t1, counters=value)
            if value != self.counters:
                self.counters, self.counters_moved_t = value, t1
        # Counters that cannot be read (no pg_stat_statements, no performance_schema) cannot tell quiet times:
        # World all the same.
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
        if self.client is not None:
            self.client.close()
        return "stop requested" if _Stop.requested else "deadline"


# What each engine's client needs to print bare values, one row per line, and to go on after an error.
CLIENT_FLAGS = {
    "postgres": ["-X", "-A", "-t", "-q"],
    "mysql": ["--batch", "--raw", "--skip-column-names", "--unbuffered", "--force"],
}


def client_argv(engine: str, host: str, port: int, user: str, dbname: str) -> list[str]:
    """The command line of the engine's client, as a superuser over the unix socket (host: its directory for
    psql, the socket itself for mariadb)."""
    if engine == "mysql":
        client = "mariadb" if shutil.which("mariadb") else "mysql"
        argv = [client, "--no-defaults", f"--socket={host}", f"--user={user}", f"--database={dbname}"]
    else:
        argv = ["psql", "-h", host, "-p", str(port), "-U", user, "-d", dbname]
    return argv + CLIENT_FLAGS[engine]


def _client_argv(args: argparse.Namespace) -> list[str]:
    user = args.user or ("root" if args.engine == "mysql" else "postgres")
    return client_argv(args.engine, args.host, args.port, user, args.dbname)


def cmd_run(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _Stop.request)
    signal.signal(signal.SIGINT, _Stop.request)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "a", encoding="utf-8") as out:
        recorder = Recorder(_client_argv(args), out, args.interval, args.idle, args.worlds_every, args.engine)
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
            "--user", args.user, "--dbname", args.dbname, "--engine", args.engine]  # fmt: skip
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
        sub.add_argument("--engine", choices=ENGINES, default="postgres")
        sub.add_argument(
            "--host",
            default="/var/run/postgresql",
            help="the unix socket's directory (postgres), the socket (mysql)",
        )
        sub.add_argument("--port", type=int, default=5432)
        sub.add_argument("--user", default="", help="a superuser (default: postgres, or root for mysql)")
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
