"""wrk_scripts/lab_wrk_run.py, report.lua and pipeline.lua, run for real against servers on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.wrk_report import parse_wrk_report
from analysis.wrk_text import REPORT_MARKER, parse_wrk_text

SCRIPTS = Path(__file__).resolve().parents[2] / "wrk_scripts"
LAB_WRK_RUN = SCRIPTS / "lab_wrk_run.py"
REPORT_LUA = str(SCRIPTS / "report.lua")
PIPELINE_LUA = str(SCRIPTS / "pipeline.lua")
META = {"run_id": "t", "framework": "hello", "test_type": "json", "phase": "level", "level": 2, "repeat": 1}


def lab_run(
    prefix: Path, command: list[str], *extra: str, meta: dict[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    args = [
        sys.executable,
        str(LAB_WRK_RUN),
        "--out",
        str(prefix),
        "--meta",
        json.dumps(meta or META),
        *extra,
    ]
    return subprocess.run([*args, "--", *command], capture_output=True, text=True, check=False, timeout=60)


def wrk_cmd(wrk: str, url: str, *, script: str = REPORT_LUA, connections: int = 2) -> list[str]:
    return [
        wrk,
        "--latency",
        "--timeout",
        "8",
        "-t",
        "1",
        "-c",
        str(connections),
        "-d",
        "1s",
        "-s",
        script,
        url,
    ]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def test_real_run_writes_the_triple(tmp_path: Path, wrk_binary: str, hello_server: str) -> None:
    prefix = tmp_path / "raw" / "hello" / "json" / "localhost" / "level-c2-r1"
    command = wrk_cmd(wrk_binary, f"{hello_server}/json")
    before = time.time() * 1000
    proc = lab_run(prefix, command)
    assert proc.returncode == 0, proc.stderr

    text = parse_wrk_text(prefix.with_suffix(".txt").read_text(encoding="utf-8"))
    report = parse_wrk_report(read_json(prefix.with_suffix(".json")))
    meta = read_json(prefix.with_suffix(".meta.json"))
    assert report.requests == text.requests > 0
    assert report.errors_read == report.errors_connect == report.errors_status == 0
    assert 0 < report.latency_min_us <= report.latency_mean_us <= report.latency_max_us
    assert REPORT_MARKER not in prefix.with_suffix(".txt").read_text(encoding="utf-8")
    assert {k: meta[k] for k in META} == META
    assert meta["exit_code"] == 0
    assert meta["command"] == command
    assert before <= meta["start_ms"] < meta["end_ms"] <= time.time() * 1000
    assert meta["end_ms"] - meta["start_ms"] >= 1000
    assert sorted(p.name for p in prefix.parent.iterdir()) == [
        "level-c2-r1.json",
        "level-c2-r1.meta.json",
        "level-c2-r1.txt",
    ]  # no temporary files left
    assert proc.stdout.startswith(f"level-c2-r1: requests={report.requests} req/s=")
    assert "errors: connect=0 read=0 write=0 timeout=0 status=0 exit_code=0" in proc.stdout


def test_non_2xx_counted_in_report(tmp_path: Path, wrk_binary: str, hello_server: str) -> None:
    prefix = tmp_path / "error"
    assert lab_run(prefix, wrk_cmd(wrk_binary, f"{hello_server}/error")).returncode == 0
    report = read_json(prefix.with_suffix(".json"))
    assert report["errors"]["status"] == report["requests"] > 0
    text = parse_wrk_text(prefix.with_suffix(".txt").read_text(encoding="utf-8"))
    assert text.non2xx == report["requests"]


def test_skip_existing_keeps_a_finished_point(tmp_path: Path, wrk_binary: str, hello_server: str) -> None:
    prefix = tmp_path / "level-c2-r1"
    assert lab_run(prefix, wrk_cmd(wrk_binary, hello_server)).returncode == 0
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    # A wrk that cannot start (exit 127 if it were run): only a point kept without running it passes.
    proc = lab_run(prefix, ["/nonexistent/wrk"], "--skip-existing")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "level-c2-r1: kept" in proc.stdout
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before


def test_skip_existing_reruns_a_failed_point(tmp_path: Path, wrk_binary: str, hello_server: str) -> None:
    prefix = tmp_path / "p"
    assert lab_run(prefix, ["/nonexistent/wrk"]).returncode == 127
    proc = lab_run(prefix, wrk_cmd(wrk_binary, hello_server), "--skip-existing")
    assert proc.returncode == 0
    assert "kept" not in proc.stdout
    assert read_json(prefix.with_suffix(".meta.json"))["exit_code"] == 0


def test_missing_wrk_writes_text_and_meta_and_fails(tmp_path: Path) -> None:
    prefix = tmp_path / "p"
    proc = lab_run(prefix, ["/nonexistent/wrk", "-d1s", "http://127.0.0.1:1/"])
    assert proc.returncode == 127
    meta = read_json(prefix.with_suffix(".meta.json"))
    assert meta["exit_code"] == 127
    assert meta["command"][0] == "/nonexistent/wrk"
    assert "cannot run '/nonexistent/wrk'" in prefix.with_suffix(".txt").read_text(encoding="utf-8")
    assert not prefix.with_suffix(".json").exists()
    assert "FAILED exit_code=127" in proc.stdout


def test_wrk_failure_keeps_its_stderr(tmp_path: Path, wrk_binary: str) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    prefix = tmp_path / "p"
    proc = lab_run(prefix, wrk_cmd(wrk_binary, f"http://127.0.0.1:{port}/"))
    assert proc.returncode == 1
    assert "unable to connect" in prefix.with_suffix(".txt").read_text(encoding="utf-8")
    assert read_json(prefix.with_suffix(".meta.json"))["exit_code"] == 1
    assert not prefix.with_suffix(".json").exists()


def test_command_without_report_script_fails(tmp_path: Path) -> None:
    prefix = tmp_path / "p"
    start_at = int(time.time() * 1000) + 700
    proc = lab_run(prefix, [sys.executable, "-c", "print('no report')"], "--start-at", str(start_at))
    assert proc.returncode == 3
    meta = read_json(prefix.with_suffix(".meta.json"))
    assert meta["exit_code"] == 3
    assert meta["start_ms"] >= start_at  # waited for the start barrier
    assert "wrote no valid JSON report" in prefix.with_suffix(".txt").read_text(encoding="utf-8")


def test_killed_run_leaves_no_meta(tmp_path: Path) -> None:
    prefix = tmp_path / "p"
    prefix.with_suffix(".meta.json").write_text('{"exit_code": 0}')  # a stale meta from an earlier try
    args = [sys.executable, str(LAB_WRK_RUN), "--out", str(prefix), "--meta", "{}", "--", "sleep", "30"]
    proc = subprocess.Popen(args, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while prefix.with_suffix(".meta.json").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not prefix.with_suffix(".meta.json").exists()
    assert not prefix.with_suffix(".txt").exists()


def test_usage_errors(tmp_path: Path) -> None:
    assert lab_run(tmp_path / "p", [], meta={}).returncode == 2  # no command after --
    proc = subprocess.run(
        [sys.executable, str(LAB_WRK_RUN), "--out", str(tmp_path / "p"), "--meta", "[1]", "--", "true"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "--meta must be a JSON object" in proc.stderr


def test_report_lua_zero_requests_is_valid_json(
    tmp_path: Path, wrk_binary: str, resetting_server: str
) -> None:
    prefix = tmp_path / "zero"
    proc = lab_run(prefix, wrk_cmd(wrk_binary, resetting_server))
    assert proc.returncode == 0, proc.stderr
    raw = prefix.with_suffix(".json").read_text(encoding="utf-8")
    assert "nan" not in raw.lower() and "inf" not in raw.lower()
    report = json.loads(raw)
    assert report["requests"] == 0
    assert report["latency_us"] == {
        "min": 0,
        "max": 0,
        "mean": 0,
        "stdev": 0,
        "percentiles": {"50": 0, "75": 0, "90": 0, "99": 0, "99.9": 0, "99.99": 0},
    }
    assert sum(report["errors"].values()) > 0
    assert parse_wrk_text(prefix.with_suffix(".txt").read_text(encoding="utf-8")).requests == 0


def test_report_lua_prints_to_stdout_without_env(wrk_binary: str, hello_server: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "WRK_REPORT_JSON"}
    proc = subprocess.run(
        wrk_cmd(wrk_binary, hello_server), capture_output=True, text=True, env=env, check=True, timeout=30
    )
    summary, report_text = proc.stdout.split(REPORT_MARKER + "\n")
    report = parse_wrk_report(json.loads(report_text))
    assert report.requests == parse_wrk_text(summary).requests > 0


class _PipelineCounter:
    """Raw HTTP server that answers every complete request and records the largest batch read at once."""

    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!"

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.max_batch = 0
        self.requests = 0
        self.lock = threading.Lock()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            try:
                while data := conn.recv(65536):
                    buffer += data
                    complete = buffer.count(b"\r\n\r\n")
                    if complete:
                        buffer = buffer.rsplit(b"\r\n\r\n", 1)[1]
                        with self.lock:
                            self.max_batch = max(self.max_batch, complete)
                            self.requests += complete
                        conn.sendall(self.RESPONSE * complete)
            except OSError:  # wrk resets its connections when it stops
                return


@pytest.fixture
def pipeline_counter() -> Iterator[_PipelineCounter]:
    server = _PipelineCounter()
    threading.Thread(target=server.serve, daemon=True).start()
    try:
        yield server
    finally:
        server.listener.close()


@pytest.mark.parametrize(("script_args", "env_depth", "depth"), [(["--", "4"], None, 4), ([], "3", 3)])
def test_pipeline_lua_sends_depth_requests_per_write_and_reports(
    tmp_path: Path,
    wrk_binary: str,
    pipeline_counter: _PipelineCounter,
    script_args: list[str],
    env_depth: str | None,
    depth: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if env_depth is not None:
        monkeypatch.setenv("WRK_PIPELINE_DEPTH", env_depth)
    url = f"http://127.0.0.1:{pipeline_counter.listener.getsockname()[1]}/plaintext"
    command = [*wrk_cmd(wrk_binary, url, script=PIPELINE_LUA, connections=1), *script_args]
    prefix = tmp_path / "pipelined"
    proc = lab_run(prefix, command)
    assert proc.returncode == 0, proc.stderr
    report = read_json(prefix.with_suffix(".json"))
    assert report["requests"] > 0
    assert pipeline_counter.max_batch == depth
    assert report["requests"] <= pipeline_counter.requests  # wrk counts only responses the server sent


def test_start_at_starts_two_clients_together(tmp_path: Path, wrk_binary: str, hello_server: str) -> None:
    start_at = int(time.time() * 1000) + 1500
    args = ["--start-at", str(start_at)]
    prefixes = [tmp_path / client / "level-c2-r1" for client in ("client-a", "client-b")]
    procs = [
        subprocess.Popen(
            [
                *(sys.executable, str(LAB_WRK_RUN), "--out", str(prefix), "--meta", json.dumps(META), *args),
                *("--", *wrk_cmd(wrk_binary, f"{hello_server}/json")),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in prefixes
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    metas = [read_json(prefix.with_suffix(".meta.json")) for prefix in prefixes]
    for meta in metas:
        assert meta["planned_start_ms"] == start_at
        assert start_at <= meta["start_ms"] <= start_at + 200, meta
        assert meta["start_late_ms"] == meta["start_ms"] - start_at
        assert meta["hostname"] == socket.gethostname()
    assert abs(metas[0]["start_ms"] - metas[1]["start_ms"]) <= 200


def test_a_late_client_starts_at_once_and_records_by_how_much(tmp_path: Path) -> None:
    prefix = tmp_path / "late"
    start_at = int(time.time() * 1000) - 3000
    began = time.monotonic()
    proc = lab_run(prefix, [sys.executable, "-c", "print('no report')"], "--start-at", str(start_at))
    assert time.monotonic() - began < 2.0  # did not wait
    assert "in the past; starting now" in proc.stderr
    meta = read_json(prefix.with_suffix(".meta.json"))
    assert meta["planned_start_ms"] == start_at
    assert meta["start_late_ms"] >= 3000


def test_without_start_at_no_barrier_fields(tmp_path: Path) -> None:
    prefix = tmp_path / "p"
    lab_run(prefix, [sys.executable, "-c", "print('no report')"])
    meta = read_json(prefix.with_suffix(".meta.json"))
    assert "planned_start_ms" not in meta and "start_late_ms" not in meta
    assert meta["hostname"] == socket.gethostname()
