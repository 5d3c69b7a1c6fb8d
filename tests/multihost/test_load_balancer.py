"""Three app hosts behind a balancer, over SSH (issue 18, point 5).

Namespace hosts: lablb runs the balancer (roles/lb), labapp, labapp2 and labapp3 the app tier, labdb the
database, labclient2 the load; each host's packet filter opens the port table (the balancer's port from the
client, the app port from the balancer and the client). site.yml provisions them all; the benchmark measures
the scale-out curve (lab_app_host_counts 1, 2, 3: the balancer switched to the first N app hosts and reloaded
between counts), loading the balancer; the verification also checks each app host alone, and the balancer's
access log shows that during each count's levels exactly its N app hosts served, each its share (round robin,
equal weights: within 25 % of an N-th each). The curve's table, report section and records say N, and the
balancer serves every app host again after the run. Then labapp3 dies during a level (its lab network link
goes down, as a machine that stops answering): the balancer serves its share from the other two, the run goes
on to its end, the level is flagged unbalanced and the run records the app host it lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from .conftest import FRAMEWORKS, TINY, MultiHostLab, PlaybookRun
from .netns_lab import LAB_HOSTS, LAB_IF

pytestmark = pytest.mark.multihost

APP_HOSTS = ["labapp", "labapp2", "labapp3"]
GROUPS = {"db": ["labdb"], "app": APP_HOSTS, "client": ["labclient2"], "lb": ["lablb"]}
TYPES = ["json", "db"]
ACCESS_LOG = Path("/var/log/lab/lablb/lb-access.log")
ACTIVE_BACKENDS = Path("/etc/lab/lablb/lb/backends-active.conf")
COUNTS = [1, 2, 3]
LB_PORT = 8081
APP_PORT = 8080
SHARE_TOLERANCE = 0.25
LOST = "labapp3"


@pytest.fixture(scope="module")
def inventory(mh: MultiHostLab) -> Path:
    return mh.inventory("balanced", GROUPS)


@pytest.fixture(scope="module")
def balanced(mh: MultiHostLab, inventory: Path, provisioned: PlaybookRun) -> PlaybookRun:
    run = mh.run(inventory, "site.yml", extra={"lab_frameworks": FRAMEWORKS})
    assert run.returncode == 0, run.output[-6000:]
    return run


@pytest.fixture(scope="module")
def measured(
    mh: MultiHostLab, inventory: Path, balanced: PlaybookRun, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[str], str]:
    """The curve's run directory, the balancer's access log lines it wrote, and its output."""
    before = ACCESS_LOG.stat().st_size if ACCESS_LOG.exists() else 0
    results_dir = tmp_path_factory.mktemp("results-balanced")
    extra = {
        **TINY,
        # Whole seconds inside each level, for the balance per level.
        "lab_duration_s": 3,
        "lab_concurrency_levels": [64],
        "lab_frameworks": ["aiohttp"],
        "lab_test_types": TYPES,
        "lab_app_host_counts": COUNTS,
        "lab_results_dir": str(results_dir),
    }
    run = mh.run(inventory, "benchmark.yml", extra=extra)
    assert run.returncode == 0, run.output[-6000:]
    with ACCESS_LOG.open(encoding="utf-8") as log:
        log.seek(before)
        lines = log.readlines()
    return (results_dir / "latest").resolve(), lines, run.output


def test_the_balancer_and_every_app_host_are_reached_on_the_lab_network(balanced: PlaybookRun) -> None:
    assert MultiHostLab.connect("labclient2", LAB_HOSTS["lablb"], LB_PORT) == "open"
    for host in APP_HOSTS:
        assert MultiHostLab.connect("lablb", LAB_HOSTS[host], APP_PORT) == "open", host
        # The verification checks each app host alone, from the client.
        assert MultiHostLab.connect("labclient2", LAB_HOSTS[host], APP_PORT) == "open", host
    # The balancer accepts the clients only.
    assert "timed out" in MultiHostLab.connect("labdb", LAB_HOSTS["lablb"], LB_PORT, timeout_s=2).lower()


Measured = tuple[Path, list[str], str]


def test_the_run_goes_through_the_balancer_and_checks_each_host(measured: Measured) -> None:
    run_dir, _, _ = measured
    for count in COUNTS:
        record = json.loads((run_dir / "frameworks" / f"aiohttp-x{count}.json").read_text())
        assert record["verify"] == dict.fromkeys(TYPES, "pass"), record["reason"]
        assert record["metadata"]["app_hosts"] == count
        for host in APP_HOSTS:
            checks = run_dir / "verify" / f"aiohttp-x{count}" / "hosts" / f"{host}.json"
            assert json.loads(checks.read_text()), host


def test_each_count_s_app_hosts_serve_their_share(measured: tuple[Path, list[str], str]) -> None:
    run_dir, lines, _ = measured
    tidy = pd.read_csv(run_dir / "tidy.csv")
    for count in COUNTS:
        levels = tidy[tidy["framework"] == f"aiohttp-x{count}"]
        assert sorted(levels["test_type"]) == sorted(TYPES), levels
        windows = list(zip(levels["start_ms"], levels["end_ms"], strict=True))
        served = Counter(
            fields[1]
            for line in lines
            if len(fields := line.split()) == 3
            and any(start <= float(fields[0]) * 1000 <= end for start, end in windows)
        )
        backends = {f"{LAB_HOSTS[host]}:{APP_PORT}" for host in APP_HOSTS[:count]}
        assert set(served) == backends, (count, served)
        total = sum(served.values())
        for backend, n in served.items():
            assert abs(n / total - 1 / count) <= SHARE_TOLERANCE / count, (count, backend, served)
        # The analysis sees the same: fair shares among the N app hosts, no level flagged.
        assert not levels["lb_unbalanced"].astype(bool).any(), levels.to_dict("records")
    # Seen per host: each app host's requests and CPU per request in every level of all three.
    per_host = pd.read_csv(run_dir / "resources" / "levels.csv")
    every = per_host[(per_host["framework"] == "aiohttp-x3") & (per_host["tier"] == "app")]
    assert sorted(set(every["host"])) == APP_HOSTS, per_host.to_dict("records")
    assert (every["served_rps"] > 0).all() and every["cpu_ms_per_1k_req"].notna().all(), every
    assert (per_host["tier"] == "lb").any()


def test_the_scale_out_curve_is_measured_and_reported(measured: tuple[Path, list[str], str]) -> None:
    run_dir, _, output = measured
    curve = pd.read_csv(run_dir / "scaleout.csv")
    for test_type in TYPES:
        rows = curve[curve["test_type"] == test_type].sort_values("app_hosts")
        assert rows["app_hosts"].tolist() == COUNTS, curve.to_dict("records")
        assert (rows["requestsPerSecond"] > 0).all()
        assert rows["efficiency"].iloc[0] == pytest.approx(1.0)
        assert rows["efficiency"].notna().all()
    assert "== Scale-out:" in output, output[-6000:]
    report = (run_dir / "report.html").read_text()
    assert 'id="scaleout"' in report and 'id="plot-scaleout-json"' in report
    # After the run the balancer serves every app host again.
    assert os.readlink(ACTIVE_BACKENDS).endswith("backends-3.conf")


def _wait_for_level(proc: subprocess.Popen[bytes], log: Path, stem: str, timeout_s: float = 900) -> None:
    """Until the client's wrk runner measures that level (the hosts share this machine's processes)."""
    deadline = time.monotonic() + timeout_s
    while subprocess.run(["pgrep", "-f", f"lab_wrk_run.py.*{stem}"], capture_output=True).returncode != 0:
        assert proc.poll() is None, log.read_text()[-6000:]
        assert time.monotonic() < deadline, f"no {stem} after {timeout_s:.0f} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def host_lost(
    mh: MultiHostLab,
    inventory: Path,
    measured: tuple[Path, list[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[int, Path, str]:
    results_dir = tmp_path_factory.mktemp("results-host-lost")
    extra = {
        **TINY,
        # Long enough for the balancer to take the host out and the others to carry the level.
        "lab_duration_s": 8,
        "lab_concurrency_levels": [64],
        "lab_frameworks": ["aiohttp"],
        "lab_test_types": ["json"],
        "lab_results_dir": str(results_dir),
    }
    proc, log = mh.start(inventory, "benchmark.yml", extra=extra)
    try:
        _wait_for_level(proc, log, "level-c64-r1")
        time.sleep(1.5)
        down = MultiHostLab.in_host(LOST, "ip", "link", "set", LAB_IF, "down")
        assert down.returncode == 0, down.stderr
        proc.wait(timeout=900)
    finally:
        if proc.poll() is None:
            proc.kill()
        MultiHostLab.in_host(LOST, "ip", "link", "set", LAB_IF, "up")
    return proc.returncode, (results_dir / "latest").resolve(), log.read_text()


def test_an_app_host_lost_mid_level_is_recorded_and_the_run_goes_on(host_lost: tuple[int, Path, str]) -> None:
    returncode, run_dir, output = host_lost
    assert returncode == 0, output[-6000:]
    events = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    lost = [event for event in events if event["event"] == "app_host_lost"]
    assert [event["hosts"] for event in lost] == [[LOST]], events
    assert lost[0]["test_types"] == ["json"]


def test_the_level_it_was_lost_in_is_flagged(host_lost: tuple[int, Path, str]) -> None:
    _, run_dir, _ = host_lost
    tidy = pd.read_csv(run_dir / "tidy.csv")
    level = tidy[(tidy["test_type"] == "json") & (tidy["level"] == 64)].iloc[0]
    # The other two carried it: the lost host's share is far under its fair third.
    assert level["lb_unbalanced"], level.to_dict()
    assert level["lb_fair_share_min_pct"] < 100 * (1 - SHARE_TOLERANCE), level.to_dict()
    assert level["requestsPerSecond"] > 0
    summary = (run_dir / "summary.csv").read_text()
    assert "lb unbalanced" in summary
