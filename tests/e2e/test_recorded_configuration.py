"""The run records the configuration each framework really ran with, and the tables label it (no extra run).

What the app host ran is /etc/lab/localhost/app-<fw>.json, written by roles/app_server from the server matrix;
frameworks/<fw>.json must carry it, and the tables must show its label.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .conftest import E2E_FRAMEWORKS, PlaybookRun

APP_CONFIG_DIR = Path("/etc/lab/localhost")
CONFIG_KEYS = (
    "server", "worker_class", "gunicorn_worker_class", "workers", "threads", "db_pool_size", "nginx",
)  # fmt: skip


def test_frameworks_json_carries_the_effective_configuration(
    benchmark_run: PlaybookRun, results_dir: Path
) -> None:
    run_dir = (results_dir / "latest").resolve()
    for framework in E2E_FRAMEWORKS:
        deployed = json.loads((APP_CONFIG_DIR / f"app-{framework}.json").read_text())
        metadata = json.loads((run_dir / "frameworks" / f"{framework}.json").read_text())["metadata"]
        assert {key: metadata[key] for key in CONFIG_KEYS} == {key: deployed[key] for key in CONFIG_KEYS}
        assert metadata["display_name"] == deployed["label"]
        assert metadata["webserver"] == ("nginx" if deployed["nginx"] else "None")
        # The defaults of group_vars: the manifest's server, one worker per CPU, nginx in front.
        assert deployed["server"] == "gunicorn" and deployed["nginx"] is True
        assert deployed["workers"] == os.cpu_count()
    assert json.loads((APP_CONFIG_DIR / "app-flask.json").read_text())["worker_class"] == "gthread"
    assert json.loads((APP_CONFIG_DIR / "app-aiohttp.json").read_text())["worker_class"] == "aiohttp"


def test_tables_label_each_framework_with_its_configuration(benchmark_run: PlaybookRun) -> None:
    for framework in E2E_FRAMEWORKS:
        label = json.loads((APP_CONFIG_DIR / f"app-{framework}.json").read_text())["label"]
        assert label.startswith(f"{framework} [gunicorn ")
        assert label in benchmark_run.output
