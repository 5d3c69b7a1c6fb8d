"""Three app hosts behind a balancer, over SSH (issue 18, point 5, first part).

Namespace hosts: lablb runs the balancer (roles/lb), labapp, labapp2 and labapp3 the app tier, labdb the
database, labclient2 the load; each host's packet filter opens the port table (the balancer's port from the
client, the app port from the balancer and the client). site.yml provisions them all; the benchmark loads the
balancer, the verification also checks each app host alone, and the balancer's access log shows that each app
host served its share of the requests (round robin, equal weights: within 25 % of a third each).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from .conftest import FRAMEWORKS, TINY, MultiHostLab, PlaybookRun
from .netns_lab import LAB_HOSTS

pytestmark = pytest.mark.multihost

APP_HOSTS = ["labapp", "labapp2", "labapp3"]
GROUPS = {"db": ["labdb"], "app": APP_HOSTS, "client": ["labclient2"], "lb": ["lablb"]}
TYPES = ["json", "db"]
ACCESS_LOG = Path("/var/log/lab/lablb/lb-access.log")
LB_PORT = 8081
APP_PORT = 8080
SHARE_TOLERANCE = 0.25


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
