"""The lab's way to verify (roles/benchmark/tasks/verify.yml), on a real throwaway Postgres and a real server:
the recorder samples the database beside it, the client runs every phase in one call with quiet gaps between,
and the report picks the snapshots by time. The grades and the numbers must be those of the run that reads the
database itself (test_broken_servers.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.verify.rules import DB_TYPES, TEST_TYPES
from analysis.verify.timeline import RECORDING, parse_recording
from labkit.paths import REPO
from labkit.postgres import PostgresCluster

from .conftest import broken_server

pytestmark = pytest.mark.needs_postgres


def verify(*argv: str, module: str = "analysis.verify") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


def recorder(cluster: PostgresCluster, command: str, tmp_path: Path, *extra: str) -> dict[str, object] | str:
    argv = [command, "--pidfile", str(tmp_path / "recorder.pid")]
    if command == "start":
        argv += [
            "--out",
            str(tmp_path / RECORDING),
            "--host",
            str(cluster.socket_dir),
            "--port",
            str(cluster.port),
        ]
    out = verify(*argv, *extra, module="analysis.verify.recorder")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if command == "start" else out.stdout.strip()


def test_recorder_and_one_client_call_grade_as_the_direct_run(
    pg: PostgresCluster, driver_python: Path, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    with broken_server(driver_python, "none", pg, tmp_path / "server.log") as url:
        started = recorder(pg, "start", tmp_path)
        assert isinstance(started, dict) and started["ready"] is True, started
        try:
            client = verify(
                "phases", url, "--types", ",".join(TEST_TYPES), "--out", str(data), "--skew-ms", "0"
            )
        finally:
            assert recorder(pg, "stop", tmp_path) == "stopped"
    assert client.returncode == 0, client.stderr
    printed = json.loads(client.stdout)
    assert printed["load"] == list(DB_TYPES)
    assert {"http.json", "phases.json", "load-db.json", "load-updates.json"} <= set(printed["files"])
    (tmp_path / RECORDING).rename(data / RECORDING)
    out = verify("report", "--framework", "unbroken", "--types", ",".join(TEST_TYPES), "--data", str(data),
                 "--out", str(tmp_path / "out"), "--target", url)  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "out" / "verification.txt").read_text()
    assert json.loads(out.stdout)["grades"] == dict.fromkeys(TEST_TYPES, "pass"), text
    assert not list(data.glob("*.error.txt"))
    # Exact counts: the recorder's own statements (World reads world, between the loads) were never counted.
    assert "10,752 statements on world (10,752 expected with bulk writes)" in text
    assert "500 of the 500 rows the request answered with changed in world" in text
    assert "pass  rows-changed" in text and "pass  db-hits: rows updated" in text
    samples, errors = parse_recording((data / RECORDING).read_text().splitlines())
    assert not errors and samples[0].ready and samples[0].kind == "worlds"
    phases = json.loads((data / "phases.json").read_text())
    assert [p["phase"] for p in phases["phases"]] == ["http", *["load"] * len(DB_TYPES)]


def test_a_recorder_without_its_database_says_so_and_goes_on_trying(
    pg: PostgresCluster, tmp_path: Path
) -> None:
    started = recorder(pg, "start", tmp_path, "--ready-timeout", "2", "--port", "1")
    try:
        assert isinstance(started, dict) and started["ready"] is False, started
        assert "psql exited" in str(started["error"]) and "/.s.PGSQL.1" in str(started["error"]), started
        assert (tmp_path / "recorder.pid").exists()
    finally:
        assert recorder(pg, "stop", tmp_path) == "stopped"
    assert recorder(pg, "stop", tmp_path) == "not running"
