"""A short scenario sweep over server configurations, run like the lab runs it, on real servers.

Each configuration is a real gunicorn (2 workers) serving the real app, against a throwaway Postgres and the
lab's upstream service. The sweep of each scenario type comes from the registry (labcore/test_types.py)
through the playbooks' own filter (lab_sweep_points); every point is measured by wrk through
wrk_scripts/lab_wrk_run.py into a run directory laid out as benchmark.yml lays it out, and read back by the
analysis (tidy, summary).

What must come out, at the same worker count: with a 50 ms sleep, a process serves one sleeping request at a
time under the sync worker and under gevent without monkey-patching (at most 2 workers x 20 requests/s),
while an event loop (aiohttp) or a gevent-patched worker overlaps the sleeps of all the connections. The same
holds for a 50 ms upstream call.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.raw_files import load_raw_points
from analysis.tables import build_summary
from analysis.tidy import build_tidy
from labcore import test_types
from labkit.apps import app_server, load_manifest
from labkit.paths import REPO
from labkit.postgres import PG_BIN, PostgresCluster, postgres_cluster
from labkit.upstream import upstream_service
from tests.conftest import NOT_APPLICABLE

pytestmark = pytest.mark.needs_postgres

WORKERS = 2
SLEEP_MS = 50
CONNECTIONS = 32
SETTINGS = {
    "concurrency_levels": [CONNECTIONS],
    "pipeline_concurrency_levels": [CONNECTIONS],
    "query_levels": [1],
    "pipeline_depth": 1,
    "duration_s": 3,
    "primer_duration_s": 1,
    "primer_concurrency": 8,
    "warmup_duration_s": 1,
    "repeats": 1,
}
SCENARIO_PARAMS = {"sleep_ms": SLEEP_MS, "cpu_n": 1000, "upstream_ms": SLEEP_MS}
# How many times the sync worker's rate an overlapping server must reach. The arithmetic allows 16x (32
# connections against 2 processes); the upstream call also costs CPU (httpx, the upstream service) on a
# machine wrk and the servers share, so its margin is smaller.
FACTOR = {"sleep": 5, "upstream": 4}
LAB_WRK_RUN = REPO / "wrk_scripts" / "lab_wrk_run.py"
REPORT_LUA = REPO / "wrk_scripts" / "report.lua"


def _load_sweep_filter() -> Any:
    """The playbooks' own filter, loaded by path as Ansible loads it (filter_plugins is no package)."""
    path = REPO / "playbooks" / "filter_plugins" / "lab_sweep.py"
    spec = importlib.util.spec_from_file_location("_scenario_test_lab_sweep", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.lab_sweep_points


lab_sweep_points = _load_sweep_filter()


@dataclass(frozen=True)
class Config:
    label: str
    framework: str
    worker_class: str | None  # None: the framework's default (aiohttp: its uvloop worker)


SYNC = Config("flask-sync", "flask", "sync")
ASYNC = Config("aiohttp", "aiohttp", None)
GEVENT = Config("flask-gevent", "flask", "gevent")
GEVENT_UNPATCHED = Config("flask-gevent-unpatched", "flask", "gevent_unpatched")


def _has(worker_class: str) -> bool:
    servers = load_manifest("flask").get("servers") or {}
    return worker_class in servers.get("gunicorn", [])


def scenario_spec(test_type: str) -> dict[str, Any]:
    """The test type's spec from the registry, its path filled with SCENARIO_PARAMS (as the playbooks do)."""
    return test_types.get(test_type).spec(SCENARIO_PARAMS)


def sweep(base_url: str, run_dir: Path, config: Config, test_type: str) -> None:
    """Every point of the test type's sweep, measured by wrk into run_dir/raw/<label>/<type>/localhost/."""
    spec = scenario_spec(test_type)
    out_dir = run_dir / "raw" / config.label / test_type / "localhost"
    out_dir.mkdir(parents=True)
    for point in lab_sweep_points(spec, SETTINGS):
        meta = {
            "run_id": run_dir.name, "framework": config.label, "test_type": test_type,
            "phase": point["phase"], "level": point["level"], "concurrency": point["concurrency"],
            "pipeline": point["pipeline"], "queries": point["queries"], "repeat": point["repeat"],
            "client": "localhost", "url": base_url + point["path"], "threads": 2,
            "duration_s": point["duration_s"],
        }  # fmt: skip
        wrk = [
            "wrk", "-H", "Connection: keep-alive", "--latency", "--timeout", "8s",
            "-d", f"{point['duration_s']}s", "-c", str(point["concurrency"]), "-t", "2",
            "-s", str(REPORT_LUA), base_url + point["path"],
        ]  # fmt: skip
        run = subprocess.run(
            [sys.executable, str(LAB_WRK_RUN), "--out", str(out_dir / point["stem"]),
             "--meta", json.dumps(meta), "--", *wrk],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert run.returncode == 0, f"{config.label} {point['stem']}: {run.stdout}\n{run.stderr}"


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresCluster]:
    if not (PG_BIN / "initdb").exists() or shutil.which("psql") is None:
        pytest.skip(f"needs Postgres binaries in {PG_BIN} and psql on PATH")
    if shutil.which("wrk") is None:
        pytest.skip("needs wrk (apt-get install wrk)")
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="module")
def summary(pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The summary of the sweep: sleep and upstream for each configuration, at CONNECTIONS connections."""
    logs = tmp_path_factory.mktemp("scenario-logs")
    run_dir = tmp_path_factory.mktemp("runs") / "scenario-sweep"
    configs = [SYNC, ASYNC, *(c for c in (GEVENT, GEVENT_UNPATCHED) if _has(str(c.worker_class)))]
    with upstream_service(logs, latency_ms=SLEEP_MS) as upstream_url:
        for config in configs:
            with app_server(
                config.framework, "raw", pg, logs, workers=WORKERS, worker_class=config.worker_class,
                extra_env={"LAB_UPSTREAM_URL": upstream_url},
            ) as server:  # fmt: skip
                base_url = f"http://127.0.0.1:{server.port}"
                for test_type in ("sleep", "upstream"):
                    sweep(base_url, run_dir, config, test_type)
    tidy = build_tidy(load_raw_points(run_dir).points, run_id=run_dir.name)
    result = build_summary(tidy)
    print(
        "\n" + result[["test_type", "framework", "level", "requestsPerSecond", "latencyAvg_ms"]].to_string()
    )
    return result


def rps(summary: pd.DataFrame, test_type: str, config: Config) -> float:
    rows = summary[(summary["test_type"] == test_type) & (summary["framework"] == config.label)]
    assert len(rows) == 1, f"no {test_type} level for {config.label}:\n{summary}"
    assert not rows["has_errors"].iloc[0], rows["flags"].iloc[0]
    return float(rows["requestsPerSecond"].iloc[0])


@pytest.mark.parametrize("test_type", ["sleep", "upstream"])
@pytest.mark.parametrize("config", [SYNC, GEVENT_UNPATCHED], ids=lambda c: c.label)
def test_blocking_workers_serve_one_waiting_request_each(
    summary: pd.DataFrame, test_type: str, config: Config
) -> None:
    """The sync worker, and gevent without patching: the app's wait blocks the whole process."""
    if not _has(str(config.worker_class)):
        pytest.skip(
            f"{NOT_APPLICABLE}apps/flask/lab.yml lists no {config.worker_class} worker under gunicorn"
        )
    ceiling = WORKERS * 1000 / SLEEP_MS
    assert rps(summary, test_type, config) <= ceiling * 1.1, f"more than {WORKERS} requests waited at once"


@pytest.mark.parametrize("test_type", ["sleep", "upstream"])
def test_async_overlaps_the_waits(summary: pd.DataFrame, test_type: str) -> None:
    assert rps(summary, test_type, ASYNC) >= FACTOR[test_type] * rps(summary, test_type, SYNC), (
        summary.to_string()
    )


@pytest.mark.parametrize("test_type", ["sleep", "upstream"])
def test_gevent_patched_overlaps_the_waits(summary: pd.DataFrame, test_type: str) -> None:
    if not _has("gevent"):
        pytest.skip(f"{NOT_APPLICABLE}apps/flask/lab.yml lists no gevent worker under gunicorn")
    assert rps(summary, test_type, GEVENT) >= FACTOR[test_type] * rps(summary, test_type, SYNC), (
        summary.to_string()
    )
