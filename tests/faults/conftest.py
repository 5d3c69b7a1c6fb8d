"""Fault tests on the localhost lab: real playbooks, real processes killed by PID (issue 9).

The suite holds /tmp/lab-localhost.lock while it runs (tests/labrun.py), provisions the localhost tiers at its
start, and each module leaves them as it found them: Postgres up, the app tier answering.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from ..labrun import (
    HOST_ID,
    REPO,
    PlaybookRun,
    localhost_lock,
    new_log,
    playbook_command,
    playbook_env,
    run_playbook,
)

# The frameworks the localhost suites provision (the e2e suite's): provisioning with the same list keeps
# the other suite's idempotence check true.
FRAMEWORKS = ["aiohttp", "flask"]
APPCTL = Path(f"/opt/lab/{HOST_ID}/bin/lab-appctl")
SUPERVISORCTL = [
    f"/opt/lab/{HOST_ID}/venvs/supervisor/bin/supervisorctl",
    "-c",
    f"/etc/lab/{HOST_ID}/supervisord.conf",
]
CLIENT_RESULTS = Path(f"/var/lib/lab/{HOST_ID}/results")
PG_CLUSTER = f"lab_{HOST_ID}"
# Short sweeps whose levels last long enough to be killed in the middle.
SHORT: dict[str, object] = {
    "lab_duration_s": 3,
    "lab_primer_duration_s": 1,
    "lab_warmup_duration_s": 1,
    "lab_pause_s": 0,
    "lab_concurrency_levels": [8, 32],
    "lab_pipeline_concurrency_levels": [32],
    "lab_query_levels": [2],
    # The nginx ceiling runs of every type would only add time here.
    "lab_ceiling": False,
}

T = TypeVar("T")


# --------------------------------------------------------------------------------------------- the lab


def _appctl(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(APPCTL), *args], capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="session")
def lab_session() -> Iterator[None]:
    """The localhost lab, held for the whole fault suite (/tmp/lab-localhost.lock), provisioned at its start
    from this tree with the standard settings: whoever held the tiers before may have left them configured
    otherwise. `make test` sets LAB_FAULTS_PROVISIONED=1, as its e2e suite has just provisioned them."""
    with localhost_lock():
        ensure_postgres_up()
        if os.environ.get("LAB_FAULTS_PROVISIONED") != "1" or not APPCTL.exists():
            run = run_playbook("site.yml", extra={"lab_frameworks": FRAMEWORKS})
            assert run.returncode == 0, run.output[-6000:]
        yield


@pytest.fixture(scope="module")
def lab(lab_session: None) -> Iterator[None]:
    """Each module leaves the tiers as it found them: Postgres up, the first framework serving."""
    try:
        yield
    finally:
        ensure_postgres_up()
        _appctl("activate", FRAMEWORKS[0])


# ------------------------------------------------------------------------------------ playbooks, live


class LivePlaybook:
    """ansible-playbook running in the background, its output going to a log file the test can watch."""

    def __init__(self, playbook: str, extra: dict[str, object]) -> None:
        self.log = new_log(f"faults-{playbook}")
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(
                playbook_command(playbook, extra=extra),
                cwd=REPO,
                env=playbook_env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait(self, timeout: float = 900) -> PlaybookRun:
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            raise
        return PlaybookRun(self.process.returncode, self.output())

    def stop(self) -> None:
        """Kill the whole process group (the playbook and everything it started): test cleanup only."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)


@contextlib.contextmanager
def live_playbook(playbook: str, extra: dict[str, object]) -> Iterator[LivePlaybook]:
    live = LivePlaybook(playbook, extra)
    try:
        yield live
    finally:
        if live.process.poll() is None:
            live.stop()


def wait_for(
    check: Callable[[], T | None], what: str, timeout: float = 300, live: LivePlaybook | None = None
) -> T:
    """Poll check() until it returns something true; fail with what and the log's end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        if live is not None and live.process.poll() is not None:
            # One last look: the playbook may have finished right after doing it.
            found = check()
            if found:
                return found
            pytest.fail(
                f"the playbook ended ({live.process.returncode}) before {what}:\n{live.output()[-5000:]}"
            )
        time.sleep(0.05)
    tail = live.output()[-5000:] if live is not None else ""
    pytest.fail(f"timed out after {timeout}s waiting for {what}\n{tail}")


# -------------------------------------------------------------------------------------------- processes


def cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def children(pid: int) -> list[int]:
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            found += [int(p) for p in (task / "children").read_text().split()]
    return sorted(set(found))


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def point_processes(framework: str, test_type: str, stem: str) -> tuple[int, int] | None:
    """(lab_wrk_run.py PID, its wrk PID) of the point being measured right now, else None."""
    suffix = f"/raw/{framework}/{test_type}/{HOST_ID}/{stem}"
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        argv = cmdline(int(entry.name))
        if not any(arg.endswith("lab_wrk_run.py") for arg in argv[:2]) or "--out" not in argv:
            continue
        if argv[argv.index("--out") + 1].endswith(suffix):
            wrk = [
                c
                for c in children(int(entry.name))
                if Path(cmdline(c)[0] if cmdline(c) else "").name == "wrk"
            ]
            if wrk:
                return int(entry.name), wrk[0]
    return None


def app_processes(framework: str) -> tuple[int, list[int]]:
    """The app server's master PID (from supervisord) and its workers."""
    out = subprocess.run(
        [*SUPERVISORCTL, "pid", f"app-{framework}"], capture_output=True, text=True, timeout=30, check=False
    ).stdout.strip()
    master = int(out) if out.isdigit() else 0
    return master, children(master) if master else []


def _postmaster_file() -> Path | None:
    found = sorted(Path("/var/lib/postgresql").glob(f"*/{PG_CLUSTER}/postmaster.pid"))
    return found[-1] if found else None


def postmaster_pid() -> int | None:
    path = _postmaster_file()
    if path is None:
        return None
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int(path.read_text().splitlines()[0])
        if alive(pid):
            return pid
    return None


def kill_postgres() -> int:
    """SIGKILL the lab's postmaster by PID (a crash, not a shutdown) and wait until its backends are gone."""
    pid = postmaster_pid()
    assert pid is not None, f"the {PG_CLUSTER} cluster is not running"
    backends = children(pid)
    os.kill(pid, signal.SIGKILL)
    wait_for(
        lambda: not any(alive(p) for p in [pid, *backends]), "the postmaster and its backends to exit", 30
    )
    return pid


def pg_version() -> str:
    clusters = sorted(Path("/etc/postgresql").glob(f"*/{PG_CLUSTER}"))
    assert clusters, f"no {PG_CLUSTER} cluster under /etc/postgresql"
    return clusters[-1].parent.name


def start_postgres(timeout: float = 60) -> None:
    """Start the lab's cluster. Right after a SIGKILL the dead postmaster may not be reaped yet, and Postgres
    refuses to start while its PID exists (the socket's lock file names it): try again until it is gone."""
    deadline = time.monotonic() + timeout
    while True:
        start = subprocess.run(
            ["pg_ctlcluster", pg_version(), PG_CLUSTER, "start"], capture_output=True, text=True, timeout=120
        )
        if start.returncode == 0 or postmaster_pid() is not None:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"cannot start {PG_CLUSTER}: {start.stdout}{start.stderr}")
        time.sleep(0.5)


def ensure_postgres_up() -> None:
    if not Path("/etc/postgresql").is_dir() or not sorted(Path("/etc/postgresql").glob(f"*/{PG_CLUSTER}")):
        return  # not provisioned yet: site.yml creates and starts it
    if postmaster_pid() is None:
        start_postgres()


# ---------------------------------------------------------------------------------------------- results


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def events(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / "events.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def metas(root: Path) -> dict[str, dict[str, Any]]:
    """{"<framework>/<type>/<stem>": meta} of every meta file under a raw directory."""
    found = {}
    for path in root.glob(f"*/*/{HOST_ID}/*.meta.json"):
        framework, test_type = path.parts[-4], path.parts[-3]
        found[f"{framework}/{test_type}/{path.name.removesuffix('.meta.json')}"] = read_json(path)
    return found
