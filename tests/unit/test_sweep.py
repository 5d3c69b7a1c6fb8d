"""labcore/sweep.py: the plan reproduces what the playbook ran before it (saved real meta files), and the
program runs a whole sweep with real wrk against a real HTTP server: raw files, progress lines, resume."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from labcore import sweep, test_types
from labcore.framework_record import ceiling_grades, framework_record

from ..sweep_plans import local_plan

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "sweep"
SPECS = test_types.specs()
RUNTIME = {
    "start_ms",
    "end_ms",
    "exit_code",
    "command",
    "hostname",
    "stderr",
    "planned_start_ms",
    "start_late_ms",
}


def _settings(**changes: Any) -> dict[str, Any]:
    # The e2e suite's settings when these meta files were written (the playbook of the time, test_type.yml).
    return {
        "concurrency_levels": [8, 32],
        "pipeline_concurrency_levels": [32],
        "query_levels": [1, 5],
        "pipeline_depth": 16,
        "duration_s": 2,
        "primer_duration_s": 1,
        "primer_concurrency": 8,
        "warmup_duration_s": 1,
        "repeats": 1,
        **changes,
    }


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.meta.json")), ids=lambda p: p.name)
def test_the_plan_runs_what_the_playbook_ran(path: Path) -> None:
    saved = json.loads(path.read_text())
    ceiling = saved["framework"] == "nginx-ceiling"
    plan = sweep.plan(
        specs=SPECS,
        settings=_settings(),
        test_type=saved["test_type"],
        framework=saved["framework"],
        frameworks=["aiohttp"],
        framework_index=0,
        types=[saved["test_type"]],
        all_types=["json", "plaintext", "db", "queries"],
        ceiling=ceiling,
        run_id=saved["run_id"],
        client=saved["client"],
        run_dir=f"/var/lib/lab/localhost/results/{saved['run_id']}",
        scripts_dir="/opt/lab/localhost/wrk_scripts",
        python="/usr/bin/python3",
        base_url="http://127.0.0.1:8080" + ("/ceiling" if ceiling else ""),
        host_header="127.0.0.1",
        vcpus=2,
        wrk_timeout_s=8,
        pause_s=1,
    )
    stem = path.name.split("__")[1].removesuffix(".meta.json")
    [point] = [p for p in plan["points"] if p["stem"] == stem]
    argv = point["argv"]
    assert argv[argv.index("--out") + 1] == f"{plan['out_dir']}/{stem}"
    assert plan["out_dir"].endswith(f"/raw/{saved['framework']}/{saved['test_type']}/{saved['client']}")
    assert json.loads(argv[argv.index("--meta") + 1]) == {k: v for k, v in saved.items() if k not in RUNTIME}
    assert argv[argv.index("--") + 1 :] == saved["command"]
    assert "--skip-existing" in argv and "--start-at" not in argv


def test_several_clients_get_the_schedule_and_the_eta_counts_it() -> None:
    common: dict[str, Any] = {
        "specs": SPECS,
        "settings": _settings(),
        "test_type": "json",
        "framework": "aiohttp",
        "frameworks": ["aiohttp"],
        "framework_index": 0,
        "types": ["json"],
        "all_types": ["json"],
        "ceiling": False,
        "run_id": "r",
        "client": "c1",
        "run_dir": "/x",
        "scripts_dir": "/s",
        "python": "python3",
        "base_url": "http://a:1",
        "host_header": "a",
        "vcpus": 2,
        "wrk_timeout_s": 8,
        "pause_s": 1,
    }
    synced = sweep.plan(**common, t0_ms=1_000_000, slack_s=2, margin_s=5)
    starts = [int(p["argv"][p["argv"].index("--start-at") + 1]) for p in synced["points"]]
    assert starts == sweep.schedule(sweep.points(SPECS["json"], _settings()), 1_000_000, 1, 2)
    assert synced["pause_s"] == 0  # the schedule holds the gaps
    assert synced["points"][0]["progress"] == (
        "aiohttp 1/1 | json 1/1 | primer-r1 (1/4): 8 connections, 1 s | ETA 14s"  # 1+2+2 s, 3 gaps of 1+2 s
    )
    alone = sweep.plan(**common)
    assert alone["pause_s"] == 1 and alone["points"][0]["progress"].endswith("ETA 8s")  # 1+2+2 + 3 pauses
    # Only a schedule waits for the start signal.
    assert synced["go_file"] == "/x/sweeps/aiohttp/json-c1-0.go" and alone["go_file"] is None

    # The start signal moves the whole schedule, keeping its gaps.
    moved = sweep.shift_starts(synced["points"], 1_004_500)
    moved_starts = [int(p["argv"][p["argv"].index("--start-at") + 1]) for p in moved]
    assert moved_starts == [start + 4_500 for start in starts]
    assert [p["start_at_ms"] for p in moved] == moved_starts
    assert sweep.shift_starts(alone["points"], 1_004_500) == alone["points"]


def test_the_start_signal_is_read_whole_and_its_absence_is_an_error(tmp_path: Path) -> None:
    go = tmp_path / "s.go"
    go.write_text('{"t0_ms": 12')  # not yet written whole
    with pytest.raises(RuntimeError, match=r"no start signal in .*s\.go within 0 s"):
        sweep.wait_for_go(go, 0.1)
    assert sweep.main(["go", str(go), "1234"]) == 0  # as the playbook gives it
    assert sweep.wait_for_go(go, 0.1) == 1234
    assert [p.name for p in tmp_path.iterdir()] == ["s.go"]


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"message":"Hello, World!"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def _server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def _local_plan(run_dir: Path, port: int, **changes: Any) -> dict[str, Any]:
    settings = _settings(concurrency_levels=[2], duration_s=1, primer_concurrency=2)
    return local_plan(run_dir, f"http://127.0.0.1:{port}", settings, **changes)


def test_a_whole_sweep_with_real_wrk_then_a_resume_keeps_it(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-1"
    with _server() as port:
        plan = _local_plan(run_dir, port, sweep_id=1)
        summary = sweep.run(plan)
        assert summary == {
            "points": 3, "ended": 3, "stopped": False, "incomplete": [], "signal_lead_ms": None
        }  # fmt: skip
        out = Path(plan["out_dir"])
        for stem in ("primer-r1", "warmup-r1", "level-c2-r1"):
            meta = json.loads((out / f"{stem}.meta.json").read_text())
            assert meta["exit_code"] == 0 and meta["client"] == "here"
            assert (out / f"{stem}.txt").read_text().startswith("Running ")
            assert json.loads((out / f"{stem}.json").read_text())["requests"] > 0
        lines = Path(plan["progress_file"]).read_text().splitlines()
        assert [line.split(" | ")[2].split(" ")[0] for line in lines] == [
            "primer-r1",
            "warmup-r1",
            "level-c2-r1",
        ]
        assert all(" | ETA " in line and "req/s=" in line for line in lines)
        assert sweep.wait(Path(plan["progress_file"]), 2, timeout_s=5) == lines[2]
        assert sweep.wait(Path(plan["progress_file"]), 3, timeout_s=5) is None  # ended without a 4th point
        assert not (run_dir / sweep.PID_FILE).exists()

        resumed = _local_plan(run_dir, port, sweep_id=2)
        assert sweep.run(resumed)["incomplete"] == []
        assert all("kept" in line for line in Path(resumed["progress_file"]).read_text().splitlines())


def test_a_synced_sweep_starts_its_first_point_at_the_signalled_instant(tmp_path: Path) -> None:
    run_dir = tmp_path / "run-3"
    with _server() as port:
        plan = _local_plan(run_dir, port, t0_ms=1_000, sweep_id=3)  # the plan's own t0 is long past
        t0_ms = time.time_ns() // 1_000_000 + 1_500
        sweep.give_go(Path(plan["go_file"]), t0_ms)
        summary = sweep.run(plan)
    assert summary["incomplete"] == [] and 0 < summary["signal_lead_ms"] <= 1_500
    meta = json.loads((Path(plan["out_dir"]) / "primer-r1.meta.json").read_text())
    assert meta["planned_start_ms"] == t0_ms and meta["start_late_ms"] <= 250


def test_a_point_that_fails_is_reported_and_the_sweep_goes_on(tmp_path: Path) -> None:
    with _server() as port:
        pass  # the port is closed now: every point fails to connect
    summary = sweep.run(_local_plan(tmp_path / "run-2", port))
    assert summary["ended"] == 3
    assert [p["stem"] for p in summary["incomplete"]] == ["primer-r1", "warmup-r1", "level-c2-r1"]


def test_prepare_drops_the_pairs_to_measure_again(tmp_path: Path) -> None:
    (tmp_path / "raw" / "aiohttp" / "db" / "c").mkdir(parents=True)
    (tmp_path / "raw" / "aiohttp" / "json" / "c").mkdir(parents=True)
    assert sweep.prepare(tmp_path, ["aiohttp/db"]) == ["dropped aiohttp/db to measure it again"]
    assert (
        not (tmp_path / "raw" / "aiohttp" / "db").exists()
        and (tmp_path / "raw" / "aiohttp" / "json").exists()
    )
    with pytest.raises(ValueError, match="FRAMEWORK/TYPE"):
        sweep.prepare(tmp_path, ["../etc"])


def test_framework_record(tmp_path: Path) -> None:
    (tmp_path / "events.jsonl").write_text(
        json.dumps({"framework": "flask", "event": "database_unreachable", "message": "db gone"})
        + "\n"
        + json.dumps({"framework": "aiohttp", "event": "app_crashed", "message": "x"})
        + "\n"
    )
    record = framework_record(
        "flask",
        swept_types=["json"],
        verify={"json": "pass", "db": "fail"},
        test_types=["json", "db"],
        run_dir=tmp_path,
        manifest={"platform": "WSGI", "notes": " n \n"},
        config={"label": "flask [x]", "server": "gunicorn", "workers": 2, "nginx": True},
        verify_reason="db failed",
    )
    assert record["status"] == "ok" and record["reason"] == "db gone\ndb failed"
    assert [e["event"] for e in record["events"]] == ["database_unreachable"]
    assert record["metadata"]["display_name"] == "flask [x]" and record["metadata"]["notes"] == "n"
    assert record["metadata"]["threads"] is None and record["metadata"]["webserver"] == "nginx"
    never = framework_record(
        "django",
        swept_types=[],
        verify=None,
        test_types=["json"],
        run_dir=tmp_path,
        start_errors=["no start"],
    )
    assert (
        never["status"] == "failed" and never["verify"] == {"json": "fail"} and never["reason"] == "no start"
    )
    assert never["metadata"]["display_name"] == "django [configuration unknown]"


def test_ceiling_record_and_grades(tmp_path: Path) -> None:
    expected = {
        "json": {"body": '{"message":"Hello, World!"}', "content_type": "application/json"},
        "plaintext": {"body": "Hello, World!", "content_type": "text/plain"},
    }
    answers = [
        {
            "__benchmark_type": "json",
            "status": 200,
            "content": expected["json"]["body"],
            "content_type": "application/json",
        },
        {"__benchmark_type": "plaintext", "status": 404, "content": "", "content_type": "text/html"},
    ]
    grades = ceiling_grades(answers, expected)
    assert grades == {"json": "pass", "plaintext": "fail"}
    record = framework_record(
        "nginx-ceiling",
        swept_types=["json"],
        verify=grades,
        test_types=[],
        run_dir=tmp_path,
        ceiling_path="/ceiling",
    )
    assert record["status"] == "ok"
    assert record["reason"] == (
        "nginx does not answer /ceiling/plaintext with the bytes of the apps"
        " (roles/app_server/templates/nginx.conf.j2)"
    )
    assert record["metadata"]["ceiling"] is True and "events" not in record


def test_the_ceiling_constants_of_the_role_are_the_analysis_tests() -> None:
    import yaml

    role = yaml.safe_load((REPO / "roles" / "benchmark" / "defaults" / "main.yml").read_text())
    shared = yaml.safe_load((REPO / "playbooks" / "vars" / "ceiling.yml").read_text())
    assert {
        k.removeprefix("benchmark_"): v for k, v in role.items() if k.startswith("benchmark_ceiling_")
    } == {k.removeprefix("__lab_"): v for k, v in shared.items()}


def test_the_open_model_plans_k6_at_each_clients_share_of_the_offered_rate() -> None:
    settings = _settings(load_model="open", offered_rates=[300, 900], open_vus=250, repeats=2)
    plans = {
        test_type: sweep.plan(
            specs=SPECS,
            settings=settings,
            test_type=test_type,
            framework="aiohttp",
            frameworks=["aiohttp"],
            framework_index=0,
            types=["json", "queries"],
            all_types=["json", "queries"],
            ceiling=False,
            run_id="r",
            client="client-b",
            run_dir="/results/r",
            scripts_dir="/opt/lab/c/wrk_scripts",
            python="/usr/bin/python3",
            base_url="http://10.0.0.2:8080",
            host_header="app",
            vcpus=2,
            wrk_timeout_s=8,
            pause_s=1,
            clients=3,
            k6="/opt/lab/c/loadgen/bin/k6",
        )
        for test_type in ("json", "queries")
    }
    points = plans["json"]["points"]
    # Primer and warm-up stay closed-loop (wrk); the levels are the offered rates, repeat by repeat.
    assert [p["stem"] for p in points] == [
        "primer-r1",
        "warmup-r1",
        "level-o300-r1",
        "level-o900-r1",
        "level-o300-r2",
        "level-o900-r2",
    ]
    assert points[1]["argv"][points[1]["argv"].index("--") + 1] == "wrk"
    argv = points[3]["argv"]
    meta = json.loads(argv[argv.index("--meta") + 1])
    assert meta["load_model"] == "open" and meta["generator"] == "k6"
    assert meta["offered_rps"] == 300.0 and meta["offered_rps_total"] == 900 and meta["clients"] == 3
    assert meta["level"] == 900 and meta["concurrency"] == 250 and meta["threads"] is None
    samples = "/results/r/raw/aiohttp/json/client-b/.level-o900-r1.samples.csv.gz"
    assert argv[argv.index("--k6-samples") + 1] == samples
    k6 = argv[argv.index("--") + 1 :]
    assert k6[:2] == ["/opt/lab/c/loadgen/bin/k6", "run"] and f"--out=csv={samples}" in k6
    env = dict(k6[i + 1].split("=", 1) for i, arg in enumerate(k6) if arg == "-e")
    # 900 per 3 s on each of the 3 clients: each sends exactly a third of the lab's rate.
    assert env["LAB_RATE"] == "900" and env["LAB_TIME_UNIT_S"] == "3"
    assert env["LAB_PRE_VUS"] == env["LAB_MAX_VUS"] == "250" and env["LAB_TIMEOUT_S"] == "8"
    assert env["LAB_URL"] == "http://10.0.0.2:8080/json" and env["LAB_HOST"] == "app"
    assert k6[-1] == "/opt/lab/c/wrk_scripts/open_loop.js"
    assert "900 requests/s offered" in points[3]["progress"]
    # The query types run every rate at their highest query count, as their warm-up does.
    level = plans["queries"]["points"][2]
    assert level["stem"] == "level-o300-r1"
    assert any(arg.startswith("LAB_URL=") and arg.endswith("?queries=5") for arg in level["argv"])
    with pytest.raises(ValueError, match="load_model must be one of"):
        sweep.points(SPECS["json"], _settings(load_model="wrk2"))
