"""A configuration Postgres refuses is never left in place (issue 14, point 5).

Real site.yml runs on the provisioned localhost lab, each with a setting that passes the validation but that
Postgres refuses: a knob (shared_buffers of 8 TiB: in the range Postgres parses, refused when the restart
allocates it), and two internal values forced with -e (a work_mem of 0, which `postgres -C` refuses before any
restart, and an authentication method pg_hba.conf does not know). Each run fails with Postgres' own message;
the previous files are back, byte for byte, no backup is left beside them, and the cluster runs with its
previous settings (never restarted where the check came first).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..labrun import HOST_ID, REPO, new_log, playbook_command, playbook_env
from .conftest import E2E_FRAMEWORKS, PlaybookRun

CLUSTER = f"lab_{HOST_ID}"
SOCKET_DIR = f"/run/lab/{HOST_ID}/postgresql"
SHOWN = ("shared_buffers", "work_mem", "max_connections")


@dataclass(frozen=True)
class Refused:
    id: str
    extra: dict[str, object]
    # The task that failed first, and what Postgres said.
    step: str
    postgres_says: str
    restarts: bool


CASES = [
    Refused(
        "shared-buffers-postgres-cannot-allocate",
        {"postgres_shared_buffers_mb": 8388607},
        "Restart the cluster",
        "could not map anonymous shared memory",
        restarts=True,
    ),
    Refused(
        "work-mem-zero-refused-by-postgres-C",
        {"_postgres_work_mem_mb": 0},
        "Check the server settings as a start would read them",
        '0 kB is outside the valid range for parameter "work_mem"',
        restarts=False,
    ),
    Refused(
        "unknown-authentication-method",
        {"_postgres_auth_method": "bogus"},
        "Check pg_hba.conf and pg_ident.conf",
        'invalid authentication method "bogus"',
        restarts=False,
    ),
]


def conf_dir() -> Path:
    found = sorted(Path("/etc/postgresql").glob(f"*/{CLUSTER}"))
    assert found, f"no {CLUSTER} cluster"
    return found[-1]


def postmaster_pid() -> int:
    data = sorted(Path("/var/lib/postgresql").glob(f"*/{CLUSTER}/postmaster.pid"))
    assert data, f"{CLUSTER} is not running (no postmaster.pid)"
    return int(data[-1].read_text().splitlines()[0])


def shown() -> dict[str, str]:
    out = subprocess.run(
        ["psql", "-X", "-At", "-h", SOCKET_DIR, "-p", "5432", "-U", "postgres", "-d", "postgres", "-c",
         f"SELECT name, setting FROM pg_settings WHERE name IN ({', '.join(map(repr, SHOWN))})"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return dict(line.split("|", 1) for line in out.splitlines())


def config_files() -> dict[str, bytes]:
    """Every file of the cluster's configuration directory, by path relative to it."""
    root = conf_dir()
    return {
        str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()
    }


def failure_messages(result: dict[str, Any]) -> list[str]:
    """The msg of every failed task result of the json callback's output."""
    messages = []
    for play in result.get("plays", []):
        for task in play.get("tasks", []):
            for host_result in task.get("hosts", {}).values():
                if host_result.get("failed"):
                    messages.append(str(host_result.get("msg", "")))
    return messages


@dataclass(frozen=True)
class Outcome:
    case: Refused
    run: PlaybookRun
    result: dict[str, Any]
    before: dict[str, Any]
    after: dict[str, Any]


def _state() -> dict[str, Any]:
    online = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    lines = [line for line in online.splitlines() if f" {CLUSTER} " in line]
    running = bool(lines) and "online" in lines[0]
    return {
        "files": config_files(),
        "online": running,
        "pid": postmaster_pid() if running else None,
        "settings": shown() if running else {},
    }


def _site(extra: dict[str, object]) -> tuple[PlaybookRun, dict[str, Any]]:
    """site.yml with the json callback: its failure messages come back as they are, not wrapped."""
    proc = subprocess.run(
        playbook_command("site.yml", extra={"lab_frameworks": E2E_FRAMEWORKS, **extra}),
        cwd=REPO, env={**playbook_env(), "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json"},
        capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    new_log("site.yml-refused").write_text(output)
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        result = {}
    return PlaybookRun(proc.returncode, output), result


@pytest.fixture(scope="module", params=CASES, ids=[case.id for case in CASES])
def outcome(request: pytest.FixtureRequest, provisioned: PlaybookRun) -> Iterator[Outcome]:
    case: Refused = request.param
    before = _state()
    assert before["online"], "the lab's cluster must run before the test"
    run, result = _site(case.extra)
    yield Outcome(case, run, result, before, _state())


def test_the_run_fails_with_postgres_message(outcome: Outcome) -> None:
    case = outcome.case
    assert outcome.run.returncode != 0, outcome.run.output[-4000:]
    failures = failure_messages(outcome.result)
    refused = [message for message in failures if "Postgres refused the new configuration" in message]
    assert refused, f"no refusal among the failures: {failures}"
    assert case.postgres_says in refused[0], refused[0]
    assert f'at "{case.step}"' in refused[0], refused[0]
    assert "The previous files are back in place, and the cluster runs with them" in refused[0], refused[0]


def test_the_settings_passed_the_validation(outcome: Outcome) -> None:
    """The refusal came from Postgres, in the postgres role, after validate.yml had accepted the settings."""
    result = outcome.result
    failed_tasks = [
        task["task"]["name"]
        for play in result["plays"]
        for task in play["tasks"]
        if any(host.get("failed") for host in task["hosts"].values())
    ]
    assert failed_tasks and failed_tasks[-1] == "postgres : Fail with Postgres' message", failed_tasks
    assert result["plays"][0]["play"]["name"] == "Validate settings"


def test_the_previous_files_are_back_and_no_backup_is_left(outcome: Outcome) -> None:
    before, after = outcome.before["files"], outcome.after["files"]
    assert sorted(after) == sorted(before), "files added or removed: backups left, or files lost"
    assert [name for name in before if after[name] != before[name]] == []


def test_the_cluster_runs_with_its_previous_settings(outcome: Outcome) -> None:
    case = outcome.case
    assert outcome.after["online"], "the cluster is down after the refusal"
    assert outcome.after["settings"] == outcome.before["settings"]
    if not case.restarts:
        assert outcome.after["pid"] == outcome.before["pid"], "checked before any restart: never restarted"
