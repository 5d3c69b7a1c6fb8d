"""Both engines side by side in one run (lab_db_engine=postgres,mysql; docs/mysql.md), real playbooks.

site.yml provisions roles/mariadb beside the Postgres cluster and deploys every framework once per engine, a
target each: `<framework>` on Postgres, `<framework>-mysql` on MariaDB. The benchmark verifies each target
against its own engine (on MariaDB the database-hit checks count statements from performance_schema) and
records the engine; a short measured run shows both engines' results in one run, each labelled with its
engine.
The app tier provisioned again with the default engine drops the MariaDB targets, as the suites after this one
expect. The teardown suite removes both engines.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.verify.rules import APPROXIMATE_COUNT_SLACK

from .conftest import E2E_FRAMEWORKS, TINY, PlaybookRun, run_playbook

BOTH: dict[str, object] = {"lab_db_engine": "postgres,mysql", "lab_frameworks": E2E_FRAMEWORKS}
SWITCH = ("--tags", "mariadb,app_server")
DB_TYPES = ["db", "queries", "fortunes", "updates", "lookup"]


@pytest.fixture(scope="module")
def on_mysql() -> Iterator[PlaybookRun]:
    run = run_playbook("site.yml", *SWITCH, extra=BOTH)
    try:
        yield run
    finally:
        back = run_playbook("site.yml", "--tags", "app_server", extra={"lab_frameworks": E2E_FRAMEWORKS})
        assert back.returncode == 0, back.output[-6000:]


@pytest.fixture(scope="module")
def verified(on_mysql: PlaybookRun, tmp_path_factory: pytest.TempPathFactory) -> tuple[PlaybookRun, Path]:
    assert on_mysql.returncode == 0, on_mysql.output[-6000:]
    results = tmp_path_factory.mktemp("results-mysql")
    run = run_playbook(
        "benchmark.yml",
        extra={
            **TINY,
            **BOTH,
            "lab_test_types": DB_TYPES,
            "lab_verify_only": True,
            "lab_results_dir": str(results),
        },
    )
    assert run.returncode == 0, run.output[-6000:]
    return run, (results / "latest").resolve()


def test_a_second_switch_to_mysql_changes_nothing(on_mysql: PlaybookRun) -> None:
    # Before the benchmark (this module's first test): a benchmark leaves its last framework active, which the
    # next provisioning rightly switches back.
    assert on_mysql.returncode == 0, on_mysql.output[-6000:]
    again = run_playbook("site.yml", *SWITCH, extra=BOTH)
    assert again.returncode == 0, again.output[-4000:]
    assert again.recap()["localhost"]["changed"] == 0, again.output[-8000:]


def test_max_connections_is_sized_from_the_app_host_s_pools(on_mysql: PlaybookRun) -> None:
    assert on_mysql.returncode == 0, on_mysql.output[-6000:]
    # What the app tier deployed: each target's workers and pool (lab-appctl runs one target at a time).
    configs = [
        json.loads(Path(f"/etc/lab/localhost/app-{fw}-mysql.json").read_text()) for fw in E2E_FRAMEWORKS
    ]
    held = max(config["workers"] * config["db_pool_size"] for config in configs)
    proc = subprocess.run(
        ["mariadb", "--defaults-file=/etc/lab/localhost/mariadb/lab.cnf", "-N", "-B", "-e",
         "SELECT @@max_connections"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # Twice what the pools hold, plus room for the administrator (roles/mariadb/vars/main.yml).
    assert int(proc.stdout) == 2 * held + 32, (configs, proc.stdout)


def test_each_target_passes_verification_on_its_engine(verified: tuple[PlaybookRun, Path]) -> None:
    _, run_dir = verified
    run = json.loads((run_dir / "run.json").read_text())
    assert run["frameworks"] == ["aiohttp", "aiohttp-mysql", "flask", "flask-mysql"], run["frameworks"]
    assert run["db_engines"] == ["postgres", "mysql"]
    for framework in E2E_FRAMEWORKS:
        for target, engine in ((framework, "postgres"), (f"{framework}-mysql", "mysql")):
            record = json.loads((run_dir / "frameworks" / f"{target}.json").read_text())
            text = (run_dir / "verify" / target / "verification.txt").read_text()
            assert record["verify"] == dict.fromkeys(DB_TYPES, "pass"), text
            assert record["metadata"]["database"] == engine
            assert record["metadata"]["framework"] == framework
            assert record["metadata"]["name"] == target
            assert f"raw {engine}" in record["metadata"]["display_name"], record["metadata"]
        text = (run_dir / "verify" / f"{framework}-mysql" / "verification.txt").read_text()
        # 512 requests of 20 reads each, counted by the server's statement digests (approximate: a few may be
        # missed under the load's concurrency, rules.APPROXIMATE_COUNT_SLACK).
        counted = re.search(r"([\d,]+) statements on world \(10,240 expected[;)]", text)
        assert counted and int(counted[1].replace(",", "")) >= 10_240 * (1 - APPROXIMATE_COUNT_SLACK), text
        # The lookup's reads served by demo_data's name index: at most one row examined per statement.
        index = r"pass +db-hits: index +\S+\n +[\d.]+ rows examined per statement on demo_data"
        assert re.search(index, text), text


def test_the_environment_names_both_engines(verified: tuple[PlaybookRun, Path]) -> None:
    _, run_dir = verified
    environment = json.loads((run_dir / "environment.json").read_text())
    versions = environment["localhost"]["versions"]
    assert "MariaDB" in (versions["mariadb_server"] or ""), versions
    assert versions["postgres_server"], versions
    assert environment["localhost"]["settings"]["lab_db_engine"] == "postgres,mysql"


def test_one_run_measures_both_engines_side_by_side(
    verified: tuple[PlaybookRun, Path], tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Measured, not only verified: the tables, results.json and the report carry both targets, each with
    its engine."""
    results = tmp_path_factory.mktemp("results-both")
    run = run_playbook(
        "benchmark.yml",
        extra={
            **TINY,
            **BOTH,
            "lab_frameworks": ["aiohttp"],
            "lab_test_types": ["db"],
            "lab_ceiling": False,
            "lab_results_dir": str(results),
        },
    )
    assert run.returncode == 0, run.output[-6000:]
    run_dir = (results / "latest").resolve()
    tidy = (run_dir / "tidy.csv").read_text()
    assert ",aiohttp," in tidy and ",aiohttp-mysql," in tidy, tidy[:2000]
    tfb = json.loads((run_dir / "results.json").read_text())
    assert {"aiohttp", "aiohttp-mysql"} <= set(tfb["frameworks"]), tfb["frameworks"]
    report = (run_dir / "report.html").read_text()
    assert "raw postgres" in report and "raw mysql" in report
