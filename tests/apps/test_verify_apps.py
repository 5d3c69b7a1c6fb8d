"""Every app in apps/ (each db mode) through the full verifier, on a real Postgres and its real server.

Every type must pass, or only warn for a reason listed in ALLOWED_WARNINGS (each is explained in the README,
"Verification"). Slow part: the database-hit loads (512 requests at concurrency 512 per database type).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.verify.rules import TEST_TYPES
from analysis.verify.sequence import verify_framework
from labkit.apps import AppServer
from labkit.postgres import PostgresCluster
from tests.conftest import NOT_APPLICABLE

pytestmark = pytest.mark.needs_postgres

# (framework, check name) -> why its warning is accepted. Empty: every framework passes every check.
ALLOWED_WARNINGS: dict[tuple[str, str], str] = {}


def test_the_app_passes_verification(server: AppServer, pg: PostgresCluster, tmp_path: Path) -> None:
    if server.port == 0:
        pytest.skip(f"{NOT_APPLICABLE}the verifier speaks TCP; this server listens on a unix socket")
    report = verify_framework(
        f"{server.framework}-{server.mode}",
        f"http://{server.host}:{server.port}",
        TEST_TYPES,
        tmp_path,
        lambda sql: json.loads(pg.psql(sql)),
    )
    problems = [
        (test_type, check)
        for test_type, checks in report.checks.items()
        for check in checks
        if check.grade == "fail"
        or (check.grade == "warn" and (server.framework, check.name) not in ALLOWED_WARNINGS)
    ]
    assert not problems, report.text()
