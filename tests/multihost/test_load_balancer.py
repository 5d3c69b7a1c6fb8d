"""Three app hosts behind a balancer, over SSH (issue 18, point 5, first part).

Namespace hosts: lablb runs the balancer (roles/lb), labapp, labapp2 and labapp3 the app tier, labdb the
database, labclient2 the load; each host's packet filter opens the port table (the balancer's port from the
client, the app port from the balancer and the client). site.yml provisions them all; the benchmark loads the
balancer, the verification also checks each app host alone, and the balancer's access log shows that each app
host served its share of the requests (round robin, equal weights: within 25 % of a third each). Then labapp3
dies during a level (its lab network link goes down, as a machine that stops answering): the balancer serves
its share from the other two, the run goes on to its end, the level is flagged unbalanced and the run records
the app host it lost.
"""

from __future__ import annotations

import json
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
) -> tuple[Path, Counter[str]]:
    before = ACCESS_LOG.stat().st_size if ACCESS_LOG.exists() else 0
    results_dir = tmp_path_factory.mktemp("results-balanced")
    extra = {
        **TINY,
        "lab_concurrency_levels": [64],
        "lab_frameworks": ["aiohttp"],
        "lab_test_types": TYPES,
        "lab_results_dir": str(results_dir),
    }
    run = mh.run(inventory, "benchmark.yml", extra=extra)
    assert run.returncode == 0, run.output[-6000:]
    with ACCESS_LOG.open(encoding="utf-8") as log:
        log.seek(before)
        served = Counter(line.split()[1] for line in log if len(line.split()) == 3)
    return (results_dir / "latest").resolve(), served


def test_the_balancer_and_every_app_host_are_reached_on_the_lab_network(balanced: PlaybookRun) -> None:
    assert MultiHostLab.connect("labclient2", LAB_HOSTS["lablb"], LB_PORT) == "open"
    for host in APP_HOSTS:
        assert MultiHostLab.connect("lablb", LAB_HOSTS[host], APP_PORT) == "open", host
        # The verification checks each app host alone, from the client.
        assert MultiHostLab.connect("labclient2", LAB_HOSTS[host], APP_PORT) == "open", host
    # The balancer accepts the clients only.
    assert "timed out" in MultiHostLab.connect("labdb", LAB_HOSTS["lablb"], LB_PORT, timeout_s=2).lower()


def test_the_run_goes_through_the_balancer_and_checks_each_host(measured: tuple[Path, Counter[str]]) -> None:
    run_dir, _ = measured
    record = json.loads((run_dir / "frameworks" / "aiohttp.json").read_text())
    assert record["verify"] == dict.fromkeys(TYPES, "pass"), record["reason"]
    for host in APP_HOSTS:
        checks = json.loads((run_dir / "verify" / "aiohttp" / "hosts" / f"{host}.json").read_text())
        assert checks, host


def test_each_app_host_serves_its_share(measured: tuple[Path, Counter[str]]) -> None:
    _, served = measured
    backends = {f"{LAB_HOSTS[host]}:{APP_PORT}" for host in APP_HOSTS}
    assert set(served) == backends, served
    total = sum(served.values())
    for backend, count in served.items():
        share = count / total
        assert abs(share - 1 / 3) <= SHARE_TOLERANCE / 3, (backend, share, served)


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
    measured: tuple[Path, Counter[str]],
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
