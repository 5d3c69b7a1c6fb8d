"""The same playbooks as on localhost, over SSH, with db, app and client on three separate hosts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import summarize
from analysis.tfb_results import validate_tfb_results

from .conftest import FRAMEWORKS, REPO, TINY, MultiHostLab, PlaybookRun
from .netns_lab import HOSTS, LAB_HOSTS

pytestmark = pytest.mark.multihost

# Every TechEmpower type: each verified from the client host, each swept.
TYPES = ["json", "plaintext", "db", "queries", "fortunes", "updates", "lookup"]
DB_TYPES = ["db", "queries", "fortunes", "updates", "lookup"]
SAMPLE_RUN = REPO / "tests" / "fixtures" / "runs" / "sample"


@pytest.fixture(scope="module")
def inventory(three_host_inventory: Path) -> Path:
    return three_host_inventory


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("results-three-hosts")


@pytest.fixture(scope="module")
def benchmarked(mh: MultiHostLab, inventory: Path, provisioned: PlaybookRun, results_dir: Path) -> Path:
    extra = {
        **TINY,
        "lab_frameworks": FRAMEWORKS,
        "lab_test_types": TYPES,
        "lab_results_dir": str(results_dir),
    }
    run = mh.run(inventory, "benchmark.yml", extra=extra)
    assert run.returncode == 0, run.output[-6000:]
    return (results_dir / "latest").resolve()


def _listeners(host: str) -> set[str]:
    out = MultiHostLab.in_host(host, "ss", "-H", "-l", "-t", "-n").stdout
    return {line.split()[3] for line in out.splitlines()}


def test_each_host_is_provisioned_for_its_tier(provisioned: PlaybookRun) -> None:
    recap = provisioned.recap()
    assert set(recap) == {"labdb", "labapp", "labclient1"}
    assert all(counts["failed"] == 0 and counts["unreachable"] == 0 for counts in recap.values()), recap
    # Every path of a host carries its inventory name, on the one shared file system.
    assert Path("/run/lab/labapp/supervisord.pid").is_file()
    assert Path("/run/lab/labapp/nginx.pid").is_file()
    assert Path("/run/lab/labapp/app/app.sock").is_socket()
    assert Path("/run/lab/labdb/postgresql/.s.PGSQL.5432").is_socket()
    assert Path("/opt/lab/labclient1/wrk_scripts/lab_wrk_run.py").is_file()
    assert not Path("/run/lab/labdb/supervisord.pid").exists()  # no app tier on the db host
    assert not Path("/opt/lab/labapp/wrk_scripts").exists()  # no client tier on the app host


def test_second_provisioning_changes_nothing(
    mh: MultiHostLab, inventory: Path, provisioned: PlaybookRun
) -> None:
    again = mh.run(inventory, "site.yml", extra={"lab_frameworks": FRAMEWORKS})
    assert again.returncode == 0, again.output[-4000:]
    changed = {host: counts["changed"] for host, counts in again.recap().items()}
    assert changed == {"labdb": 0, "labapp": 0, "labclient1": 0}, again.output[-8000:]


def test_only_the_tiers_ports_are_exposed(provisioned: PlaybookRun) -> None:
    ssh = "{}:22"
    # sshd on the management address; Postgres on the db host's lab address only; nginx and the upstream
    # service of the /upstream scenario (roles/upstream, 8091) on the app host's; the app on a unix socket.
    assert _listeners("labdb") == {f"{LAB_HOSTS['labdb']}:5432", ssh.format(HOSTS["labdb"])}
    assert _listeners("labapp") == {
        f"{LAB_HOSTS['labapp']}:8080",
        f"{LAB_HOSTS['labapp']}:8091",
        ssh.format(HOSTS["labapp"]),
    }
    assert _listeners("labclient1") == {ssh.format(HOSTS["labclient1"])}


def test_pg_hba_admits_only_the_app_host(provisioned: PlaybookRun) -> None:
    # The packet filter keeps the client hosts away from 5432; behind it, pg_hba refuses any other address
    # too. The db host itself connects to its own lab address (over loopback, which its filter accepts).
    if shutil.which("psql") is None:
        pytest.fail("psql is missing (make test-deps installs postgresql)")
    dsn = (
        f"host={LAB_HOSTS['labdb']} port=5432 dbname=hello_world user=benchmarkdbuser sslmode=disable"
        " connect_timeout=5"
    )
    refused = MultiHostLab.in_host("labdb", "psql", "-w", dsn, "-c", "SELECT 1")
    assert refused.returncode != 0
    assert f'no pg_hba.conf entry for host "{LAB_HOSTS["labdb"]}"' in refused.stderr, refused.stderr


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_wrk_ran_on_the_client_host(benchmarked: Path, framework: str) -> None:
    run_id = benchmarked.name
    client_copy = Path("/var/lib/lab/labclient1/results") / run_id / "raw" / framework
    metas = sorted((benchmarked / "raw" / framework).glob("*/*/*.meta.json"))
    assert metas
    for path in metas:
        meta = json.loads(path.read_text())
        assert meta["client"] == "labclient1" and path.parent.name == "labclient1", path
        assert meta["hostname"] == "labclient1", meta  # the client namespace's own hostname (UTS)
        assert meta["url"].startswith(f"http://{LAB_HOSTS['labapp']}:8080/"), meta
        # The run was written on the client, then fetched.
        assert (client_copy / path.relative_to(benchmarked / "raw" / framework)).is_file(), path
    assert not Path("/var/lib/lab/labapp/results").exists()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_verification_ran_on_the_client_and_every_type_passed(benchmarked: Path, framework: str) -> None:
    # The HTTP checks and the database-hit loads ran on labclient1 (the controller cannot reach the app), and
    # what they wrote was fetched beside the grades.
    client_copy = Path("/var/lib/lab/labclient1/results") / benchmarked.name / "verify" / framework
    data = benchmarked / "verify" / framework / "data"
    for name in ("http.json", *(f"load-{t}.json" for t in DB_TYPES)):
        assert (client_copy / name).read_bytes() == (data / name).read_bytes(), name
    assert not list(data.glob("*.error.txt")), sorted(data.iterdir())
    summary = json.loads((benchmarked / "verify" / framework / "summary.json").read_text())
    assert summary["grades"] == dict.fromkeys(TYPES, "pass"), summary
    assert (
        f"http://{LAB_HOSTS['labapp']}:8080"
        in (benchmarked / "verify" / framework / "verification.txt").read_text()
    )


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_raw_output_was_fetched_for_every_point(benchmarked: Path, framework: str) -> None:
    for test_type in TYPES:
        point_dir = benchmarked / "raw" / framework / test_type / "labclient1"
        stems = {p.name.removesuffix(".meta.json") for p in point_dir.glob("*.meta.json")}
        levels = {
            "plaintext": TINY["lab_pipeline_concurrency_levels"],
            "queries": TINY["lab_query_levels"],
            "updates": TINY["lab_query_levels"],
        }.get(test_type, TINY["lab_concurrency_levels"])
        prefix = "q" if test_type in ("queries", "updates") else "c"
        assert isinstance(levels, list)
        assert stems == {"primer-r1", "warmup-r1"} | {f"level-{prefix}{level}-r1" for level in levels}, stems
        for stem in stems:
            assert (point_dir / f"{stem}.txt").read_text().startswith("Running "), stem
            assert json.loads((point_dir / f"{stem}.meta.json").read_text())["exit_code"] == 0


def test_the_app_reached_postgres_across_the_bridge_from_its_own_address(benchmarked: Path) -> None:
    query = "SELECT DISTINCT host(client_addr) FROM pg_stat_activity WHERE usename = 'benchmarkdbuser'"
    # As root over the db host's unix socket: pg_hba maps root to the postgres superuser there.
    psql = ("psql", "-h", "/run/lab/labdb/postgresql", "-p", "5432", "-U", "postgres", "-d", "hello_world")
    proc = MultiHostLab.in_host("labdb", *psql, "-Atc", query)
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == {LAB_HOSTS["labapp"]}, proc.stdout
    tidy = pd.read_csv(benchmarked / "tidy.csv")
    db_rows = tidy[tidy.test_type.isin(DB_TYPES)]
    assert (
        len(db_rows) == 2 * len(DB_TYPES) * len(FRAMEWORKS)
        and (db_rows.totalRequests > 0).all()
        and not db_rows.has_errors.any()
    ), db_rows


def test_results_have_the_shape_of_a_localhost_run(benchmarked: Path, tmp_path: Path) -> None:
    localhost_run = tmp_path / SAMPLE_RUN.name
    shutil.copytree(SAMPLE_RUN, localhost_run)  # a localhost run (client "localhost"), analyzed the same way
    assert summarize(str(localhost_run)) == 0
    for name in ("tidy.csv", "summary.csv", "clients.csv"):
        ours, theirs = pd.read_csv(benchmarked / name), pd.read_csv(localhost_run / name)
        assert list(ours.columns) == list(theirs.columns), name
        assert len(ours) > 0, name
    results = json.loads((benchmarked / "results.json").read_text())
    validate_tfb_results(results)
    assert set(results) == set(json.loads((localhost_run / "results.json").read_text()))
    assert results["frameworks"] == FRAMEWORKS
    for framework in FRAMEWORKS:
        # TechEmpower's names (query, fortune, update), one grade per TechEmpower type (not the lab's own
        # lookup), each a pass.
        grades = results["verify"][framework]
        assert len(grades) == len(TYPES) - 1 and set(grades.values()) == {"pass"}, results["verify"]
        assert results["rawData"]["json"][framework], results["rawData"]["json"]  # measured
    run = json.loads((benchmarked / "run.json").read_text())
    # The optional tiers are named too, empty without them.
    assert run["hosts"] == {
        "db": ["labdb"], "app": ["labapp"], "client": ["labclient1"], "upstream": [], "lb": []
    }  # fmt: skip
