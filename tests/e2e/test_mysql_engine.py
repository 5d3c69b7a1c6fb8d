"""The localhost lab switched to MariaDB and back (lab_db_engine; docs/mysql.md), with the real playbooks.

site.yml with lab_db_engine=mysql provisions roles/mariadb beside the Postgres cluster and points the app tier
at it (the two tiers an engine switch changes, with --tags); the benchmark verifies each framework against it,
the database-hit checks counting statements from performance_schema, and records the engine; the app tier
provisioned with the default engine points the apps back at Postgres, which the suites after this one use.
The teardown suite removes both engines.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from analysis.verify.rules import APPROXIMATE_COUNT_SLACK

from .conftest import E2E_FRAMEWORKS, TINY, PlaybookRun, run_playbook

MYSQL: dict[str, object] = {"lab_db_engine": "mysql", "lab_frameworks": E2E_FRAMEWORKS}
SWITCH = ("--tags", "mariadb,app_server")
DB_TYPES = ["db", "queries", "fortunes", "updates", "lookup"]


@pytest.fixture(scope="module")
def on_mysql() -> Iterator[PlaybookRun]:
    run = run_playbook("site.yml", *SWITCH, extra=MYSQL)
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
            **MYSQL,
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
    again = run_playbook("site.yml", *SWITCH, extra=MYSQL)
    assert again.returncode == 0, again.output[-4000:]
    assert again.recap()["localhost"]["changed"] == 0, again.output[-8000:]


def test_the_apps_run_on_mariadb_and_pass_verification(verified: tuple[PlaybookRun, Path]) -> None:
    _, run_dir = verified
    for framework in E2E_FRAMEWORKS:
        record = json.loads((run_dir / "frameworks" / f"{framework}.json").read_text())
        assert record["verify"] == dict.fromkeys(DB_TYPES, "pass"), (
            run_dir / "verify" / framework / "verification.txt"
        ).read_text()
        assert record["metadata"]["database"] == "mysql"
        assert "raw mysql" in record["metadata"]["display_name"]
        text = (run_dir / "verify" / framework / "verification.txt").read_text()
        # 512 requests of 20 reads each, counted by the server's statement digests (approximate: a few may be
        # missed under the load's concurrency, rules.APPROXIMATE_COUNT_SLACK).
        counted = re.search(r"([\d,]+) statements on world \(10,240 expected[;)]", text)
        assert counted and int(counted[1].replace(",", "")) >= 10_240 * (1 - APPROXIMATE_COUNT_SLACK), text
        # The lookup's reads served by demo_data's name index: at most one row examined per statement.
        index = r"pass +db-hits: index +\S+\n +[\d.]+ rows examined per statement on demo_data"
        assert re.search(index, text), text


def test_the_environment_names_the_engine_the_run_used(verified: tuple[PlaybookRun, Path]) -> None:
    _, run_dir = verified
    environment = json.loads((run_dir / "environment.json").read_text())
    versions = environment["localhost"]["versions"]
    assert "MariaDB" in (versions["mariadb_server"] or ""), versions
    assert environment["localhost"]["settings"]["lab_db_engine"] == "mysql"
