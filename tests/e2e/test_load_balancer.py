"""The localhost lab behind a load balancer (roles/lb, issue 18), with the real playbooks.

A second inventory file puts localhost in the `lb` group as well: site.yml then runs nginx as the balancer
on 127.0.0.1:8081 in front of the app tier's own nginx on 127.0.0.1:8080, and the benchmark loads the
balancer (the load, the verification and the scenario checks all go through it). The balancer's access log
names the app host that served each request. At the end roles/lb's teardown takes the balancer away and
leaves the rest of the localhost lab to the suites after this one.
"""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ..labrun import ANSIBLE_PLAYBOOK, REPO, PlaybookRun, new_log, playbook_env
from .conftest import E2E_FRAMEWORKS, TINY, run_playbook

LB_PORT = 8081
ACCESS_LOG = Path("/var/log/lab/localhost/lb-access.log")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def lb_inventory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lb-inventory") / "lb.yml"
    # The app tier keeps its own nginx here, as the suites after this one expect of the localhost lab (with an
    # lb group it would default to the app server on TCP: tests/multihost/test_load_balancer.py runs that).
    lb = {"lb": {"hosts": {"localhost": {"app_server_nginx": True}}}}
    path.write_text(yaml.safe_dump(lb), encoding="utf-8")
    return path


def _teardown_balancer() -> PlaybookRun:
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "inventory/local.yml", "tests/e2e/playbooks/lb_teardown.yml"],
        cwd=REPO, env=playbook_env(), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    new_log("lb-teardown").write_text(output)
    return PlaybookRun(proc.returncode, output)


@pytest.fixture(scope="module")
def balanced(lb_inventory: Path) -> Iterator[PlaybookRun]:
    run = run_playbook("site.yml", "-i", str(lb_inventory), extra={"lab_frameworks": E2E_FRAMEWORKS})
    try:
        yield run
    finally:
        gone = _teardown_balancer()
        assert gone.returncode == 0, gone.output[-6000:]
        assert not _listening(LB_PORT), f"something still listens on 127.0.0.1:{LB_PORT} after the teardown"


def test_the_balancer_is_provisioned_once(balanced: PlaybookRun, lb_inventory: Path) -> None:
    assert balanced.returncode == 0, balanced.output[-6000:]
    assert _listening(LB_PORT)
    again = run_playbook("site.yml", "-i", str(lb_inventory), extra={"lab_frameworks": E2E_FRAMEWORKS})
    assert again.returncode == 0, again.output[-4000:]
    assert again.recap()["localhost"]["changed"] == 0, again.output[-8000:]


def test_a_run_goes_through_the_balancer(
    balanced: PlaybookRun, lb_inventory: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert balanced.returncode == 0, balanced.output[-6000:]
    before = ACCESS_LOG.stat().st_size if ACCESS_LOG.exists() else 0
    results = tmp_path_factory.mktemp("results-lb")
    types = ["json", "db", "sleep"]
    run = run_playbook(
        "benchmark.yml",
        "-i",
        str(lb_inventory),
        extra={
            **TINY,
            # Long enough for whole seconds of counts and resource samples inside each level.
            "lab_duration_s": 3,
            "lab_frameworks": ["aiohttp"],
            "lab_test_types": types,
            "lab_ceiling": False,
            "lab_results_dir": str(results),
        },
    )
    assert run.returncode == 0, run.output[-6000:]
    run_dir = (results / "latest").resolve()
    record = json.loads((run_dir / "frameworks" / "aiohttp.json").read_text())
    assert record["verify"] == dict.fromkeys(types, "pass"), record
    tidy = pd.read_csv(run_dir / "tidy.csv")
    assert set(tidy["url"].str.extract(r"//([^/]+)/")[0]) == {f"127.0.0.1:{LB_PORT}"}, tidy["url"].unique()
    # Every request the balancer proxied names its backend: here the one app host.
    with ACCESS_LOG.open(encoding="utf-8") as log:
        log.seek(before)
        backends = {line.split()[1] for line in log if line.strip()}
    assert backends == {"127.0.0.1:8080"}, backends
    # The balancer's counts came back with the run, and every level says how the requests were spread: all
    # on the one app host, its fair share exactly.
    counts = json.loads((run_dir / "lb" / "localhost.json").read_text())
    assert counts["backends"] == {"127.0.0.1:8080": 1}, counts["backends"]
    assert {entry[1] for entry in counts["counts"]} == {"127.0.0.1:8080"}
    levels = tidy[tidy["test_type"] == "json"]
    assert (levels["lb_requests"] >= 100).all(), levels[["level", "lb_requests"]]
    assert (levels["lb_fair_share_min_pct"] == 100).all() and not levels["lb_unbalanced"].any()
    assert tidy["lb_cpu_pct"].notna().any(), "the balancer's host was not sampled"
