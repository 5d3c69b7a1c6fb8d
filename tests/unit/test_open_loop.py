"""The open-loop generator for real (issue 20, point 4): k6 through wrk_scripts/lab_wrk_run.py and
open_loop.js against a server that stops answering for 0.5 s every 2 s, beside closed-loop load on the same
server; and two clients' histograms merged against the union of their samples."""

from __future__ import annotations

import gzip
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.plots import run_plots
from analysis.run import load_run
from analysis.summarize import summarize
from labcore import slo
from labcore.histogram import Histogram, merged
from labcore.k6_report import reduce_file
from labkit.processes import free_port, stop_process_group

from ..sweep_plans import local_plan

ROOT = Path(__file__).resolve().parents[2]
LAB_WRK_RUN = ROOT / "wrk_scripts" / "lab_wrk_run.py"
OPEN_LOOP_JS = ROOT / "wrk_scripts" / "open_loop.js"
REPORT_LUA = ROOT / "wrk_scripts" / "report.lua"
STALL_SERVER = ROOT / "tests" / "fixtures" / "k6" / "stall_server.py"
K6 = Path(sys.executable).parent / "k6"
# Every request sent in a closed loop waits for the one before it on its connection.
CLOSED_LOOP_JS = """
import http from 'k6/http';
export const options = { discardResponseBodies: true, systemTags: ['status', 'error_code'] };
export default function () { http.get(__ENV.LAB_URL); }
"""


@pytest.fixture(scope="module")
def k6() -> Path:
    if not K6.exists():
        pytest.skip(f"k6 is not installed beside {sys.executable} (requirements/loadgen.txt)")
    return K6


@pytest.fixture(scope="module")
def stalling_server() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, str(STALL_SERVER), str(port)], stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert server.stdout is not None
        assert b"listening" in server.stdout.readline()
        yield f"http://127.0.0.1:{port}/"
    finally:
        stop_process_group(server)


def open_loop_env(url: str, rate: int, duration_s: int, vus: int) -> dict[str, str]:
    return {
        **os.environ,
        "LAB_URL": url,
        "LAB_HOST": "127.0.0.1",
        "LAB_ACCEPT": "text/plain",
        "LAB_RATE": str(rate),
        "LAB_DURATION_S": str(duration_s),
        "LAB_TIMEOUT_S": "2",
        "LAB_PRE_VUS": str(vus),
        "LAB_MAX_VUS": str(vus),
    }


def k6_command(k6: Path, samples: Path, script: Path, *extra: str) -> list[str]:
    return [
        str(k6),
        "run",
        "-q",
        "--no-usage-report",
        "--no-color",
        f"--out=csv={samples}",
        *extra,
        str(script),
    ]


def samples_us(path: Path, metric: str) -> list[float]:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        return [float(line.split(",")[2]) * 1000 for line in handle if line.startswith(f"{metric},")]


def exact_percentile(samples: list[float], percent: float) -> float:
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1]


def run_point(
    tmp_path: Path, name: str, meta: dict[str, Any], command: list[str], env: dict[str, str], *extra: str
) -> dict[str, Any]:
    prefix = tmp_path / name
    done = subprocess.run(
        [
            sys.executable,
            str(LAB_WRK_RUN),
            "--out",
            str(prefix),
            "--meta",
            json.dumps(meta),
            *extra,
            "--",
            *command,
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(prefix.with_suffix(".json").read_text())
    return report


def test_a_stalling_server_shows_in_open_loop_latency_and_not_in_a_plain_closed_loop(
    k6: Path, stalling_server: str, tmp_path: Path
) -> None:
    # Offered 200/s, far under what the server answers (thousands per second outside the stalls).
    samples = tmp_path / "open.csv.gz"
    meta = {
        "framework": "stall",
        "test_type": "plaintext",
        "phase": "level",
        "level": 200,
        "repeat": 1,
        "offered_rps": 200,
        "duration_s": 6,
    }
    opened = run_point(
        tmp_path,
        "open",
        meta,
        k6_command(k6, samples, OPEN_LOOP_JS),
        open_loop_env(stalling_server, 200, 6, 400),
        "--k6-samples",
        str(samples),
    )
    assert not samples.exists()  # reduced to the report, then removed
    schedule = opened["open_loop"]
    assert schedule["dropped_iterations"] == 0
    assert schedule["achieved_rps"] == pytest.approx(200, rel=0.02)
    open_p99 = opened["latency_us"]["percentiles"]["99"]
    assert open_p99 >= 300_000, opened["latency_us"]

    # The same server in a closed loop, each request's own latency: 8 connections that each wait out a stall
    # with one request, while thousands of others pass between the stalls.
    closed_js = tmp_path / "closed.js"
    closed_js.write_text(CLOSED_LOOP_JS)
    closed_samples = tmp_path / "closed.csv.gz"
    subprocess.run(
        k6_command(k6, closed_samples, closed_js, "--vus", "8", "--duration", "6s"),
        env={**os.environ, "LAB_URL": stalling_server},
        capture_output=True,
        check=True,
        timeout=60,
    )
    closed = samples_us(closed_samples, "http_req_duration")
    assert len(closed) > 20 * 6 * 200  # far more than the open loop sent
    assert exact_percentile(closed, 99) < 50_000 < open_p99 / 6

    # wrk is closed-loop too, but wrk 4.1 corrects its percentiles after the run (stats_correct: every
    # latency above a connection's mean interval adds the samples the stall kept it from sending), so the
    # lab's closed-loop p99 already shows the stalls (docs/load-generators.md, "What wrk reports").
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed (make test-deps installs it)")
    wrk_report = tmp_path / "wrk.json"
    done = subprocess.run(
        [wrk, "--latency", "-t", "1", "-c", "8", "-d", "6s", "-s", str(REPORT_LUA), stalling_server],
        env={**os.environ, "WRK_REPORT_JSON": str(wrk_report)},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(wrk_report.read_text())["latency_us"]["percentiles"]["99"] >= 300_000, done.stdout


def test_two_clients_merged_histogram_by_histogram_give_the_percentiles_of_the_union(
    k6: Path, stalling_server: str, tmp_path: Path
) -> None:
    # One client against the stalls, one against a server that never stalls: neither client's p99, nor their
    # average, is the p99 of the union; the merged histogram gives it.
    port = free_port()
    steady = subprocess.Popen(
        [sys.executable, str(STALL_SERVER), str(port), "--stall", "0"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert steady.stdout is not None and b"listening" in steady.stdout.readline()
        clients = (("a", stalling_server, 100), ("b", f"http://127.0.0.1:{port}/", 300))
        runs = [
            (
                tmp_path / f"{name}.csv.gz",
                rate,
                subprocess.Popen(
                    k6_command(k6, tmp_path / f"{name}.csv.gz", OPEN_LOOP_JS),
                    env=open_loop_env(url, rate, 4, 200),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                ),
            )
            for name, url, rate in clients
        ]
        histograms, union = [], []
        for samples, rate, process in runs:
            _, stderr = process.communicate(timeout=60)
            assert process.returncode == 0, stderr
            report = reduce_file(samples, offered_rps=rate, duration_s=4, wall_us=0)
            histograms.append(Histogram.from_dict(json.loads(json.dumps(report["histogram_us"]))))
            union += samples_us(samples, "iteration_duration")
    finally:
        stop_process_group(steady)
    together = merged(histograms)
    assert together.total == len(union)
    for percent in (50, 90, 99, 99.9, 100):
        true = exact_percentile(union, percent)
        assert true - 0.5 <= together.percentile(percent) <= true * 1.001 + 1, percent
    stalled_p99, steady_p99 = (h.percentile(99) for h in histograms)
    assert stalled_p99 > 300_000 and steady_p99 < 50_000
    union_p99 = together.percentile(99)
    assert abs(union_p99 - stalled_p99) > 0.1 * stalled_p99
    assert abs(union_p99 - (stalled_p99 + steady_p99) / 2) > 0.1 * union_p99


def test_an_open_loop_sweep_of_two_clients_is_analysed_with_their_histograms_merged(
    k6: Path, stalling_server: str, tmp_path: Path
) -> None:
    # Both clients' sweeps as the benchmark role runs them (labcore.sweep), at the same planned instants;
    # then the run loaded and summarized as `make analyze` does.
    settings = {
        "concurrency_levels": [4],
        "pipeline_concurrency_levels": [4],
        "query_levels": [1],
        "pipeline_depth": 1,
        "duration_s": 3,
        "primer_duration_s": 1,
        "primer_concurrency": 2,
        "warmup_duration_s": 1,
        "repeats": 1,
        "load_model": "open",
        "offered_rates": [200],
        "open_vus": 300,
    }
    t0 = int(time.time() * 1000) + 3000
    sweeps = []
    for client in ("client-a", "client-b"):
        plan = local_plan(
            tmp_path / client / "open-two",  # each client host has its own results
            stalling_server.rstrip("/"),
            settings,
            framework="stall",
            client=client,
            t0_ms=t0,
            slack_s=1,
            clients=2,
            k6=str(k6),
        )
        plan["go_file"] = None  # the planned t0 is the start: no controller writes a signal here
        sweeps.append(
            subprocess.Popen(
                [sys.executable, "-m", "labcore.sweep", "run"],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
        assert sweeps[-1].stdin is not None
        sweeps[-1].stdin.write(json.dumps(plan))
        sweeps[-1].stdin.close()
    for process in sweeps:
        assert process.stdout is not None and process.stderr is not None
        out, err = process.stdout.read(), process.stderr.read()
        assert process.wait(timeout=60) == 0, err
        assert json.loads(out.strip().splitlines()[-1])["incomplete"] == [], out

    # Fetched to the controller's run directory, as roles/benchmark's fetch_raw does.
    for client in ("client-a", "client-b"):
        shutil.copytree(
            tmp_path / client / "open-two" / "raw", tmp_path / "open-two" / "raw", dirs_exist_ok=True
        )
    run = load_run(tmp_path / "open-two")
    assert not [w for w in run.warnings.raw if "skipped" in w], run.warnings.raw
    assert sorted(run.histograms) == [
        "raw/stall/json/client-a/level-o200-r1",
        "raw/stall/json/client-b/level-o200-r1",
    ]
    tidy = run.tidy
    assert list(tidy["load_model"]) == ["open", "open"] and list(tidy["offered_rps"]) == [100.0, 100.0]
    assert not tidy["generator_behind"].any() and list(tidy["dropped_iterations"]) == [0, 0]
    assert ((tidy["achieved_rps"] - 100).abs() <= 2).all()

    summary = summarize(run)
    row = summary.clients.iloc[0]
    union = merged(run.histograms.values())
    assert row["offered_rps"] == 200 and row["p99_ms"] == union.percentile(99) / 1000
    assert row["p99_ms"] >= 300  # the stalls, in the union of both clients
    assert row["latencyAvg_ms"] == pytest.approx(union.mean / 1000)
    level = summary.summary.iloc[0]
    assert level["level_name"] == "offered_rps" and level["p99_ms"] == row["p99_ms"]
    assert "worst of" not in level["flags"] and "generator behind" not in level["flags"]
    section = summary.results["openLoop"]
    assert section["offeredRates"] == [200]
    (obj,) = section["rawData"]["json"]["stall"]
    assert obj["offeredRps"] == 200 and obj["p99Ms"] == row["p99_ms"] and not obj["generatorBehind"]
    assert summary.results["rawData"]["json"] == {}  # TechEmpower's levels are connections: not these


def test_the_slo_search_finds_the_capacity_of_a_server_of_known_service_time_and_workers(
    k6: Path, tmp_path: Path
) -> None:
    # 4 workers of 10 ms each: 400 requests/s, exactly. Offered on a fixed schedule below that, nothing
    # queues; above it the backlog grows through the probe and its p99 passes the 50 ms target within 3 s.
    workers, service_ms, capacity = 4, 10, 400
    port = free_port()
    shape = ["--stall", "0", "--workers", str(workers), "--service-ms", str(service_ms)]
    server = subprocess.Popen(
        [sys.executable, str(STALL_SERVER), str(port), *shape],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    # The points land as the lab keeps them: one run directory, raw/<framework>/<type>/<client>/.
    points = Path("run") / "raw" / "capacity" / "json" / "localhost"
    base = {
        "run_id": "capacity",
        "framework": "capacity",
        "test_type": "json",
        "client": "localhost",
        "repeat": 1,
    }
    target = {"p99_ms": 50.0, "error_pct": 0.1}
    try:
        assert server.stdout is not None and b"listening" in server.stdout.readline()
        url = f"http://127.0.0.1:{port}/"
        # The start: the closed-loop peak, as the lab starts from the levels it just measured.
        wrk = [
            shutil.which("wrk") or "wrk",
            "--latency",
            "-t",
            "1",
            "-c",
            "16",
            "-d",
            "2s",
            "-s",
            str(REPORT_LUA),
        ]
        peak = run_point(
            tmp_path,
            str(points / "level-c16-r1"),
            {**base, "phase": "level", "level": 16, "concurrency": 16, "duration_s": 2},
            [*wrk, url],
            dict(os.environ),
        )
        start = peak["requests"] / 2

        def search(*kept: str) -> list[slo.Probe]:
            probes: list[slo.Probe] = []
            while (rate := slo.next_rate(probes, start_rps=start, max_steps=8, **target)) is not None:
                samples = tmp_path / f"{rate}.csv.gz"
                meta = {
                    "phase": "slo",
                    "level": rate,
                    "offered_rps": rate,
                    "duration_s": 3,
                    "load_model": "open",
                }
                report = run_point(
                    tmp_path,
                    str(points / slo.stem(rate)),
                    {**base, **meta},
                    k6_command(k6, samples, OPEN_LOOP_JS),
                    open_loop_env(url, rate, 3, 300),
                    "--k6-samples",
                    str(samples),
                    *kept,
                )
                probes.append(slo.probe_of(rate, [report]))
            return probes

        probes = search()
    finally:
        stop_process_group(server)
    # A resume keeps the finished probes (lab_wrk_run.py --skip-existing): with the server gone, the search
    # replays the same rates from their saved reports, measures nothing and finds the same answer.
    assert search("--skip-existing") == probes
    answer = slo.found(probes, **target)
    trail = [(p.rate, round(p.p99_ms, 1), p.passes(**target)) for p in probes]
    assert answer is not None and 0.9 * capacity <= answer <= 1.1 * capacity, (start, trail)

    # The analysis judges the kept probes as the search did, and reports the same answer.
    run_json = {"run_id": "capacity", "frameworks": ["capacity"], "test_types": ["json"], "duration_s": 2}
    (tmp_path / "run" / "run.json").write_text(json.dumps({**run_json, "slo": {**target, "max_steps": 8}}))
    summary = summarize(load_run(tmp_path / "run"))
    frame = summary.slo
    assert sorted(frame["rate"]) == sorted(p.rate for p in probes)
    assert list(frame.sort_values("rate")["passes"]) == [
        p.passes(**target) for p in sorted(probes, key=lambda p: p.rate)
    ]
    assert set(frame["found"]) == {answer}
    assert summary.results["sloSearch"]["found"] == {"json": {"capacity": answer}}
    assert f"{answer} requests/s" in summary.text and "Highest offered rate with p99 <= 50 ms" in summary.text
    # The probes are the type's latency-against-rate curve, beside the target.
    plots = {
        plot.name: plot
        for plot in run_plots(summary.tidy, summary.summary, None, ["json"], None, frame, 50.0)
    }
    axes = plots["latency-rate-json"].figure.axes[0]
    legend = axes.get_legend()
    assert legend is not None and "p99 target 50 ms" in {text.get_text() for text in legend.get_texts()}
