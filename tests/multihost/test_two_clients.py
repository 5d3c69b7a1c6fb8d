"""Two client hosts load the app at the same moments (start schedule), and the analysis merges them.

Here every host's lab address is IPv6: the tiers are provisioned again on them (Postgres' listen address and
pg_hba, nginx, the upstream service, the apps' database host), and verification, the upstream scenario and
the load all go over IPv6. Then the same two clients in the open model (k6): the offered rate split between
them, their histograms merged.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from labcore.histogram import Histogram, merged

from .conftest import FRAMEWORKS, TINY, MultiHostLab, PlaybookRun
from .netns_lab import LAB_HOSTS_V6

pytestmark = pytest.mark.multihost

CLIENTS = ["labclient1", "labclient2"]
GROUPS = {"db": ["labdb"], "app": ["labapp"], "client": CLIENTS}
# upstream: the app calls the upstream service at its IPv6 lab address.
TYPES = ["json", "db", "upstream"]
FRAMEWORK = "aiohttp"
# Both clients sleep until the planned instant, then start wrk: a few ms apart on an idle machine. The bound
# leaves room for a loaded 2-core CI machine.
START_TOLERANCE_MS = 250
# The margin covers writing each sweep's start signal on both clients over SSH and starting the first point's
# process (labcore/sweep.py, "The start signal"): the lab's default, 5 s; under `make test` (this suite beside
# the local ones) 3 s left one first point 305 ms late. The slack covers starting each later point.
SCHEDULE = {"lab_client_start_margin_s": 5, "lab_client_start_slack_s": 3}


@pytest.fixture(scope="module")
def inventory(mh: MultiHostLab) -> Path:
    return mh.inventory("two-clients-ipv6", GROUPS, ipv6=True)


@pytest.fixture(scope="module")
def second_client(mh: MultiHostLab, inventory: Path, provisioned: PlaybookRun) -> PlaybookRun:
    # db, app and labclient1 were provisioned on IPv4 (the three-host inventory): they move to IPv6, and the
    # new client is provisioned.
    run = mh.run(inventory, "site.yml", extra={"lab_frameworks": FRAMEWORKS})
    assert run.returncode == 0, run.output[-6000:]
    assert set(run.recap()) == {host for hosts in GROUPS.values() for host in hosts}
    return run


@pytest.fixture(scope="module")
def run_dir(
    mh: MultiHostLab, inventory: Path, second_client: PlaybookRun, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    results_dir = tmp_path_factory.mktemp("results-two-clients")
    extra = {
        **TINY,
        **SCHEDULE,
        "lab_frameworks": [FRAMEWORK],
        "lab_test_types": TYPES,
        "lab_results_dir": str(results_dir),
    }
    run = mh.run(inventory, "benchmark.yml", extra=extra)
    assert run.returncode == 0, run.output[-6000:]
    return (results_dir / "latest").resolve()


def _metas(run_dir: Path) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    """{(test_type, stem): {client: meta}} for every point of the run."""
    points: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for path in sorted((run_dir / "raw" / FRAMEWORK).glob("*/*/*.meta.json")):
        meta = json.loads(path.read_text())
        stem = path.name.removesuffix(".meta.json")
        points.setdefault((meta["test_type"], stem), {})[meta["client"]] = meta
    return points


def test_both_clients_ran_every_point_and_their_raw_files_were_fetched(run_dir: Path) -> None:
    points = _metas(run_dir)
    assert len(points) == len(TYPES) * 4  # primer, warm-up, two levels
    for (test_type, stem), by_client in points.items():
        assert sorted(by_client) == CLIENTS, (test_type, stem)
        for client, meta in by_client.items():
            assert meta["exit_code"] == 0 and meta["hostname"] == client, meta
            for suffix in (".txt", ".json"):
                assert (run_dir / "raw" / FRAMEWORK / test_type / client / f"{stem}{suffix}").is_file()


def test_each_point_started_on_both_clients_at_its_planned_instant(run_dir: Path) -> None:
    for (test_type, stem), by_client in _metas(run_dir).items():
        first, second = (by_client[c] for c in CLIENTS)
        assert first["planned_start_ms"] == second["planned_start_ms"], (test_type, stem)
        assert abs(first["start_ms"] - second["start_ms"]) <= START_TOLERANCE_MS, (test_type, stem, by_client)
        for meta in (first, second):
            assert 0 <= meta["start_late_ms"] <= START_TOLERANCE_MS, meta
            assert meta["start_ms"] - meta["planned_start_ms"] == meta["start_late_ms"]
        # The two loads overlapped: neither ended before the other began.
        assert first["start_ms"] < second["end_ms"] and second["start_ms"] < first["end_ms"]


def test_the_schedule_spaces_the_points_by_duration_and_slack(run_dir: Path) -> None:
    for test_type in TYPES:
        planned = sorted(
            meta["planned_start_ms"]
            for (point_type, _), by_client in _metas(run_dir).items()
            if point_type == test_type
            for meta in [by_client[CLIENTS[0]]]
        )
        gaps = {b - a for a, b in itertools.pairwise(planned)}
        assert gaps == {(1 + int(str(TINY["lab_pause_s"])) + SCHEDULE["lab_client_start_slack_s"]) * 1000}, (
            gaps
        )


def test_the_analysis_merges_the_clients_of_each_level(run_dir: Path) -> None:
    tidy = pd.read_csv(run_dir / "tidy.csv").query("framework == @FRAMEWORK")
    merged = pd.read_csv(run_dir / "clients.csv").query("framework == @FRAMEWORK")
    assert len(tidy) == 2 * len(merged) == 2 * len(TYPES) * 2  # one row per client; one merged row per level
    for row in merged.to_dict("records"):
        clients = tidy[(tidy.test_type == row["test_type"]) & (tidy.level == row["level"])]
        assert sorted(clients.client) == CLIENTS and row["clients"] == 2, row
        assert row["client_names"] == ",".join(CLIENTS)
        assert row["totalRequests"] == clients.totalRequests.sum() > 0
        assert row["requestsPerSecond"] == pytest.approx(row["totalRequests"] / row["duration_s"])
        assert not row["late_start"], row
        # The worst client's average, never a mean over clients.
        assert row["latencyAvg_ms_worst_client"] == clients.latencyAvg_ms.max()
    summary = pd.read_csv(run_dir / "summary.csv").query("framework == @FRAMEWORK")
    assert (summary["clients"] == 2).all()  # the tables count both clients in every level


def test_everything_went_over_ipv6(run_dir: Path) -> None:
    app = f"[{LAB_HOSTS_V6['labapp']}]"
    for by_client in _metas(run_dir).values():
        for meta in by_client.values():
            assert meta["url"].startswith(f"http://{app}:8080/"), meta
    verification = (run_dir / "verify" / FRAMEWORK / "verification.txt").read_text()
    assert f"http://{app}:8080" in verification
    outcome = json.loads((run_dir / "frameworks" / f"{FRAMEWORK}.json").read_text())
    assert outcome["status"] == "ok" and set(outcome["verify"].values()) == {"pass"}, outcome
    # The app reached Postgres from its IPv6 lab address.
    query = "SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE usename = 'benchmarkdbuser'"
    psql = ("psql", "-h", "/run/lab/labdb/postgresql", "-p", "5432", "-U", "postgres", "-d", "hello_world")
    proc = MultiHostLab.in_host("labdb", *psql, "-Atc", query)
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == {LAB_HOSTS_V6["labapp"]}, proc.stdout


# The open model over the same two clients (issue 20): k6 reaches each client through the package proxy, the
# lab's offered rate is split between them, and their histograms are merged into the level's percentiles.
OPEN_RATES = [300, 600]


@pytest.fixture(scope="module")
def open_run_dir(
    mh: MultiHostLab, inventory: Path, run_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    site = mh.run(inventory, "site.yml", extra={"lab_frameworks": FRAMEWORKS, "lab_load_model": "open"})
    assert site.returncode == 0, site.output[-6000:]
    results_dir = tmp_path_factory.mktemp("results-two-clients-open")
    extra = {
        **TINY,
        **SCHEDULE,
        # Long enough that a whole second of the schedule is measured at each rate.
        "lab_duration_s": 3,
        "lab_frameworks": [FRAMEWORK],
        "lab_test_types": ["json"],
        "lab_load_model": "open",
        "lab_offered_rates": OPEN_RATES,
        "lab_results_dir": str(results_dir),
    }
    run = mh.run(inventory, "benchmark.yml", extra=extra)
    assert run.returncode == 0, run.output[-6000:]
    return (results_dir / "latest").resolve()


def test_the_open_model_splits_the_rate_between_the_clients_and_merges_their_histograms(
    open_run_dir: Path,
) -> None:
    levels = {
        stem: by_client for (_, stem), by_client in _metas(open_run_dir).items() if stem.startswith("level-")
    }
    assert sorted(levels) == sorted(f"level-o{rate}-r1" for rate in OPEN_RATES)
    histograms: dict[int, list[Histogram]] = {}
    for by_client in levels.values():
        assert sorted(by_client) == CLIENTS
        for client, meta in by_client.items():
            assert meta["generator"] == "k6" and meta["hostname"] == client, meta
            assert meta["offered_rps"] == meta["offered_rps_total"] / 2 and meta["clients"] == 2, meta
            assert 0 <= meta["start_late_ms"] <= START_TOLERANCE_MS, meta
            stem = open_run_dir / "raw" / FRAMEWORK / "json" / client / f"level-o{meta['level']}-r1"
            report = json.loads(stem.with_suffix(".json").read_text())
            histograms.setdefault(int(meta["level"]), []).append(Histogram.from_dict(report["histogram_us"]))
    merged_rows = pd.read_csv(open_run_dir / "clients.csv").query("framework == @FRAMEWORK")
    assert sorted(merged_rows["level"]) == OPEN_RATES
    for row in merged_rows.to_dict("records"):
        union = merged(histograms[int(row["level"])])
        assert row["clients"] == 2 and row["offered_rps"] == row["level"], row
        assert row["achieved_rps"] == pytest.approx(row["level"], rel=0.02) and row["dropped_iterations"] == 0
        assert row["p99_ms"] == pytest.approx(union.percentile(99) / 1000), row
        assert row["latencyMax_ms"] == pytest.approx(union.max / 1000)
        assert not row["generator_behind"] and not row["late_start"], row
    section = json.loads((open_run_dir / "results.json").read_text())["openLoop"]
    assert section["offeredRates"] == OPEN_RATES and list(section["rawData"]["json"]) == [FRAMEWORK]
