"""roles/mariadb on this machine, with the real server (issue 17, part 1; docs/mysql.md).

An instance of a host id and port of its own (beside the localhost lab's tiers, which it leaves alone) is
provisioned by tests/e2e/playbooks/mariadb.yml, the password generated into a secrets directory of the
test's own as site.yml generates Postgres'. Then: a second run changes nothing, and neither does --check;
the server runs with the settings of its file; the schema holds TFB's rows, and a table that differs is
filled again while World is not drawn again; the apps' account exists for the app host only, holds only the
password's hash, may run what the apps run and nothing else, and a connection from any other address is
refused; a bad setting stops the role before anything changes; the teardown gives the machine back, and a
second one changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from analysis.verify.rules import FORTUNES, MAX_ID
from labcore import demo_data
from labkit.processes import free_port
from roles.mariadb.filter_plugins.mariadb_settings import mariadb_native_hash

from ..labrun import ANSIBLE_PLAYBOOK, REPO, PlaybookRun, new_log, playbook_env
from ..teardown_checks import user_exists

PLAYBOOK = "tests/e2e/playbooks/mariadb.yml"
HOST_ID = "mariadb-e2e"
LAB_ADDRESS = "127.0.0.1"  # inventory/local.yml: a one-host inventory
DEMO_ROWS = 5000
OTHER_ADDRESS = "127.0.0.2"  # another host, as far as the server can tell
USER, DB, SERVER_USER = "benchmarkdbuser", "hello_world", "labmariadb"
CONF = Path(f"/etc/lab/{HOST_ID}/mariadb/lab.cnf")
DATA_DIR = Path(f"/var/lib/lab/{HOST_ID}/mariadb")
RUN_DIR = Path(f"/run/lab/{HOST_ID}/mariadb")
LOG_DIR = Path(f"/var/log/lab/{HOST_ID}/mariadb")
RECORD_DIR = Path(f"/var/lib/lab-state/{HOST_ID}")
LAB_DIRS = [
    Path(root) / HOST_ID for root in ("/etc/lab", "/var/lib/lab", "/run/lab", "/var/log/lab", "/opt/lab")
]

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the role installs packages and runs a server: needs root"),
    pytest.mark.skipif(
        not Path("/usr/sbin/mariadbd").exists() or shutil.which("mariadb") is None,
        reason="mariadb-server-core and mariadb-client-core are not installed (make test-deps installs them)",
    ),
]


@dataclass
class Instance:
    port: int
    secrets_dir: Path
    first: PlaybookRun

    @property
    def extra(self) -> dict[str, object]:
        # A small demo_data: the loader is the same at any size, the lab's million rows take 20 s more.
        return {
            "lab_host_id": HOST_ID,
            "mariadb_port": self.port,
            "lab_secrets_dir": str(self.secrets_dir),
            "lab_demo_data_rows": DEMO_ROWS,
        }

    @property
    def secret(self) -> str:
        return (self.secrets_dir / "benchmarkdbuser.password").read_text().strip()

    def run(self, *args: str, **extra: object) -> PlaybookRun:
        return run_playbook(*args, extra={**self.extra, **extra})


def run_playbook(*args: str, extra: dict[str, object]) -> PlaybookRun:
    """tests/e2e/playbooks/mariadb.yml on the localhost inventory, its output kept beside the test run."""
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "inventory/local.yml", PLAYBOOK, *args, "-e", json.dumps(extra)],
        cwd=REPO, env=playbook_env(), capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    new_log("mariadb").write_text(output)
    return PlaybookRun(proc.returncode, output)


def _remove_test_host() -> None:
    """What a provisioning of the test's host id may leave when a test stops halfway: the server, its
    directories and the record (the packages and the server's user belong to the machine)."""
    pattern = f"mariadbd --defaults-file={CONF}"
    subprocess.run(["pkill", "-TERM", "-f", pattern], check=False)
    deadline = time.monotonic() + 120  # InnoDB's shutdown
    while time.monotonic() < deadline:
        if subprocess.run(["pgrep", "-f", pattern], capture_output=True, check=False).returncode != 0:
            break
        time.sleep(0.5)
    for path in [*LAB_DIRS, RECORD_DIR]:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def instance() -> Iterator[Instance]:
    user_existed = user_exists(SERVER_USER)
    _remove_test_host()
    secrets_dir = Path(tempfile.mkdtemp(prefix="lab-mariadb-secrets-"))  # 0700, as lab_settings makes it
    try:
        port = free_port()
        first = Instance(port, secrets_dir, PlaybookRun(0, "")).run()
        assert first.returncode == 0, first.output[-6000:]
        yield Instance(port, secrets_dir, first)
    finally:
        try:
            Instance(0, secrets_dir, PlaybookRun(0, "")).run(mariadb_teardown=True)
        finally:
            _remove_test_host()
            if not user_existed and user_exists(SERVER_USER):
                subprocess.run(["userdel", SERVER_USER], check=False)
                subprocess.run(["groupdel", SERVER_USER], check=False)
            shutil.rmtree(secrets_dir, ignore_errors=True)


def as_root(sql: str, db: str = DB) -> str:
    """SQL as the server's root over its socket (unix_socket authentication: we are root)."""
    proc = subprocess.run(
        ["mariadb", f"--defaults-file={CONF}", "-N", "-B", db, "-e", sql],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def as_app(instance: Instance, sql: str) -> subprocess.CompletedProcess[str]:
    """SQL as the apps' account over TCP from the app host's address, the password in a 0600 option file
    (never on a command line)."""
    options = instance.secrets_dir / "app.cnf"
    fd = os.open(options, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(
            f"[client]\nuser={USER}\npassword={instance.secret}\nhost={LAB_ADDRESS}\nport={instance.port}\n"
        )
    return subprocess.run(
        ["mariadb", f"--defaults-file={options}", "--protocol=TCP", "-N", "-B", DB, "-e", sql],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def _first_packet(source: str, port: int) -> bytes:
    """The server's first packet to a connection from source: the greeting (protocol 10) or an error."""
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.bind((source, 0))
        sock.connect((LAB_ADDRESS, port))
        header = sock.recv(4)
        length = int.from_bytes(header[:3], "little")
        payload = b""
        while len(payload) < length:
            chunk = sock.recv(length - len(payload))
            if not chunk:
                break
            payload += chunk
    return payload


# ------------------------------------------------------------------------------------------- idempotence


def test_a_second_run_changes_nothing(instance: Instance) -> None:
    second = instance.run()
    assert second.returncode == 0, second.output[-6000:]
    assert second.recap()["localhost"]["changed"] == 0, second.output[-6000:]


def test_check_mode_on_the_provisioned_host_reports_no_change(instance: Instance) -> None:
    check = instance.run("--check")
    assert check.returncode == 0, check.output[-6000:]
    assert check.recap()["localhost"]["changed"] == 0, check.output[-6000:]


# ------------------------------------------------------------------------------------------- the server


def test_the_server_runs_with_the_settings_of_its_file(instance: Instance) -> None:
    values = dict(
        line.split("\t")
        for line in as_root(
            "SELECT 'max_connections', @@max_connections UNION ALL SELECT 'performance_schema',"
            " @@performance_schema UNION ALL SELECT 'log_bin', @@log_bin UNION ALL SELECT 'flush',"
            " @@innodb_flush_log_at_trx_commit UNION ALL SELECT 'pool_mb',"
            " @@innodb_buffer_pool_size DIV 1048576 UNION ALL SELECT 'datadir', @@datadir"
            " UNION ALL SELECT 'socket', @@socket"
        ).splitlines()
    )
    # The role's defaults (the playbook passes the default app connections, 512): twice over plus 32; a
    # quarter of this host's memory.
    assert values["max_connections"] == str(2 * 512 + 32)
    mem_mb = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    # InnoDB rounds the pool up to a whole number of its chunks (128 MiB by default).
    assert mem_mb // 4 <= int(values["pool_mb"]) < mem_mb // 4 + 1024, values
    assert values["performance_schema"] == "1" and values["log_bin"] == "0" and values["flush"] == "2"
    assert values["datadir"].rstrip("/") == str(DATA_DIR) and values["socket"] == str(
        RUN_DIR / "mariadb.sock"
    )
    # Its own instance: never the distribution's paths.
    assert "/var/lib/mysql" not in CONF.read_text() and "/run/mysqld" not in CONF.read_text()


def test_the_server_listens_on_the_lab_address_only(instance: Instance) -> None:
    pid = int((RUN_DIR / "mariadb.pid").read_text().split()[0])
    listening = subprocess.run(
        ["ss", "-H", "-l", "-t", "-n", "-p"], capture_output=True, text=True, check=True
    )
    addresses = {line.split()[3] for line in listening.stdout.splitlines() if f"pid={pid}," in line}
    assert addresses == {f"{LAB_ADDRESS}:{instance.port}"}


# ------------------------------------------------------------------------------------------- the data


def test_the_tables_hold_tfbs_rows(instance: Instance) -> None:
    tables = set(as_root("SHOW TABLES").splitlines())
    assert tables == {"world", "World", "fortune", "Fortune", "demo_data"}
    # The lookup's rows, as labcore/demo_data.py writes them, names compared byte for byte.
    loaded = as_root(
        "SELECT COUNT(*), MIN(id), MAX(id), TABLE_COMMENT FROM demo_data, information_schema.TABLES"
        f" WHERE TABLE_SCHEMA = '{DB}' AND TABLE_NAME = 'demo_data' GROUP BY TABLE_COMMENT"
    )
    assert loaded.split("\t") == [str(DEMO_ROWS), "1", str(DEMO_ROWS), demo_data.comment(DEMO_ROWS)]
    for row_id in (1, DEMO_ROWS):
        assert as_root(f"SELECT id FROM demo_data WHERE name = '{demo_data.name(row_id)}'") == str(row_id)
    assert as_root(f"SELECT COUNT(*) FROM demo_data WHERE name = '{demo_data.name(1).swapcase()}'") == "0"
    plan = as_root(f"EXPLAIN SELECT id FROM demo_data WHERE name = '{demo_data.name(1)}' LIMIT 1")
    assert "demo_data_name" in plan, plan
    for table in ("world", "World"):
        summary = as_root(
            f"SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id), MIN(randomNumber), MAX(randomNumber)"
            f" FROM `{table}`"
        ).split("\t")
        count, distinct, low, high, low_number, high_number = (int(value) for value in summary)
        assert (count, distinct, low, high) == (MAX_ID, MAX_ID, 1, MAX_ID), (table, summary)
        assert low_number >= 1 and high_number <= MAX_ID, (table, summary)
        # Drawn, not a constant: 10,000 draws from 1..10,000 take thousands of values.
        assert int(as_root(f"SELECT COUNT(DISTINCT randomNumber) FROM `{table}`")) > MAX_ID // 2
    for table in ("fortune", "Fortune"):
        rows = as_root(f"SELECT id, HEX(message) FROM `{table}` ORDER BY id").splitlines()
        found = [(int(i), bytes.fromhex(h).decode()) for i, h in (row.split("\t") for row in rows)]
        assert found == sorted(FORTUNES), table


def test_a_table_that_differs_is_filled_again_and_world_is_not_drawn_again(instance: Instance) -> None:
    world_before = as_root("SELECT MD5(GROUP_CONCAT(id, ':', randomNumber ORDER BY id)) FROM world")
    as_root(
        "UPDATE fortune SET message = 'changed' WHERE id = 3; DELETE FROM `World` WHERE id > 9000;"
        " DELETE FROM demo_data WHERE id = 7"
    )
    # An account of a host that is no longer an app host.
    as_root(f"CREATE USER '{USER}'@'10.9.9.9' IDENTIFIED BY PASSWORD '{mariadb_native_hash('x' * 16)}'")
    run = instance.run()
    assert run.returncode == 0, run.output[-6000:]
    assert run.recap()["localhost"]["changed"] > 0
    assert as_root("SELECT message FROM fortune WHERE id = 3") == dict(FORTUNES)[3]
    assert as_root("SELECT COUNT(*) FROM `World`") == str(MAX_ID)
    assert as_root("SELECT name FROM demo_data WHERE id = 7") == demo_data.name(7)
    assert as_root("SELECT MD5(GROUP_CONCAT(id, ':', randomNumber ORDER BY id)) FROM world") == world_before
    assert as_root(f"SELECT Host FROM mysql.global_priv WHERE User = '{USER}'") == LAB_ADDRESS


# ------------------------------------------------------------------------------------------- the account


def test_the_password_is_stored_0600_on_the_controller_and_only_its_hash_on_the_server(
    instance: Instance,
) -> None:
    secret_file = instance.secrets_dir / "benchmarkdbuser.password"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert len(instance.secret) >= 16
    stored = as_root(f"SELECT authentication_string FROM mysql.user WHERE User = '{USER}'")
    assert stored == mariadb_native_hash(instance.secret)
    holding = [
        str(path)
        for root in (DATA_DIR, CONF.parent, LOG_DIR)
        for path in root.rglob("*")
        if path.is_file() and instance.secret.encode() in path.read_bytes()
    ]
    assert not holding, holding


def test_one_account_for_the_app_host_and_no_anonymous_one(instance: Instance) -> None:
    accounts = as_root("SELECT User, Host FROM mysql.global_priv ORDER BY User, Host").splitlines()
    assert f"{USER}\t{LAB_ADDRESS}" in accounts
    assert [a for a in accounts if a.startswith(f"{USER}\t")] == [f"{USER}\t{LAB_ADDRESS}"]
    assert not [a for a in accounts if a.startswith("\t")], accounts


def test_the_apps_statements_run_as_the_account(instance: Instance) -> None:
    for statement in (
        "SELECT id, randomNumber FROM world WHERE id = 1",
        "SELECT id, message FROM fortune",
        f"SELECT id FROM demo_data WHERE name = '{demo_data.name(1)}' LIMIT 1",
        "START TRANSACTION; UPDATE world SET randomNumber = CASE id WHEN 1 THEN 7 ELSE randomNumber END"
        " WHERE id IN (1); ROLLBACK",
    ):
        run = as_app(instance, statement)
        assert run.returncode == 0, (statement, run.stderr)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO world (id, randomNumber) VALUES (20001, 1)",
        "DELETE FROM world WHERE id = 1",
        "UPDATE fortune SET message = 'x' WHERE id = 1",
        "UPDATE demo_data SET name = 'x' WHERE id = 1",
        "SELECT COUNT(*) FROM `World`",
        "CREATE TABLE mine (id int)",
        "DROP TABLE fortune",
        "SELECT authentication_string FROM mysql.user",
        "SELECT COUNT(*) FROM performance_schema.events_statements_summary_by_digest",
        "CREATE USER another IDENTIFIED BY 'x'",
    ],
)
def test_anything_else_is_refused(instance: Instance, statement: str) -> None:
    run = as_app(instance, statement)
    assert run.returncode != 0, f"{statement!r} ran as {USER}"
    assert "denied" in run.stderr, run.stderr


def test_the_app_host_is_admitted_and_any_other_address_refused(instance: Instance) -> None:
    assert _first_packet(LAB_ADDRESS, instance.port)[:1] == b"\x0a"  # the greeting: an account exists for it
    refused = _first_packet(OTHER_ADDRESS, instance.port)
    (code,) = struct.unpack("<H", refused[1:3])
    assert refused[:1] == b"\xff" and code == 1130 and b"is not allowed to connect" in refused, refused


def test_the_superuser_logs_in_over_the_socket_only(instance: Instance) -> None:
    over_tcp = subprocess.run(
        ["mariadb", "--no-defaults", "--protocol=TCP", "-h", LAB_ADDRESS, "-P", str(instance.port),
         "-u", "root", "-e", "SELECT 1"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert over_tcp.returncode != 0 and "Access denied" in over_tcp.stderr, over_tcp.stderr


# ------------------------------------------------------------------------------------------- refusals


def test_a_bad_setting_is_refused_before_any_change() -> None:
    other = "mariadb-e2e-refused"
    secrets_dir = Path(tempfile.mkdtemp(prefix="lab-mariadb-secrets-"))
    try:
        run = run_playbook(
            extra={"lab_host_id": other, "mariadb_port": free_port(), "lab_secrets_dir": str(secrets_dir),
                   "mariadb_max_connections": 5, "mariadb_allowed_clients": ["0.0.0.0"]},
        )  # fmt: skip
        assert run.returncode != 0
        assert "mariadb_max_connections=5 is out of range" in run.text, run.output[-3000:]
        assert 'mariadb_allowed_clients=["0.0.0.0"] has "0.0.0.0"' in run.text, run.output[-3000:]
        assert run.recap()["localhost"]["changed"] == 0
        assert not any(
            (Path(root) / other).exists() for root in ("/etc/lab", "/var/lib/lab", "/var/lib/lab-state")
        )
    finally:
        shutil.rmtree(secrets_dir, ignore_errors=True)
        for root in (
            "/etc/lab",
            "/var/lib/lab",
            "/run/lab",
            "/var/log/lab",
            "/opt/lab",
            "/var/lib/lab-state",
        ):
            with contextlib.suppress(OSError):
                shutil.rmtree(Path(root) / other)


# ------------------------------------------------------------------------------------------- teardown (last)


def test_the_teardown_gives_the_machine_back_and_a_second_changes_nothing(instance: Instance) -> None:
    pid = int((RUN_DIR / "mariadb.pid").read_text().split()[0])
    check = instance.run("--check", mariadb_teardown=True)
    assert check.returncode == 0, check.output[-6000:]
    assert Path(f"/proc/{pid}").exists() and DATA_DIR.is_dir(), "--check changed the host"
    first = instance.run(mariadb_teardown=True)
    assert first.returncode == 0, first.output[-6000:]
    assert not Path(f"/proc/{pid}").exists(), "the server still runs"
    for path in (DATA_DIR, CONF.parent, RUN_DIR, LOG_DIR):
        assert not path.exists(), path
    second = instance.run(mariadb_teardown=True)
    assert second.returncode == 0, second.output[-6000:]
    assert second.recap()["localhost"]["changed"] == 0, second.output[-6000:]
