"""Adding a test type is one registry entry plus its route (docs/test-types.md §2 "Test types").

In a copy of the tree, the type `hello` is added to labcore/test_types.py (the hello object at /hello) and the
route to the aiohttp app, and nothing else. The copy provisions the localhost lab, verifies the new type with
the grades of its body kind, sweeps it and reports it like the built-in types. Afterwards the lab gets the
repository's apps back.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from ..labrun import PlaybookRun
from .conftest import CONCURRENCY_LEVELS, E2E_FRAMEWORKS, REPO, TINY, run_playbook

NEW_ENTRY = '        TestType("hello", "/hello", "concurrency", "json", "message"),\n'
# The line the new entry goes before: the registry's first scenario type.
ANCHOR = "        # The scenario types"
ROUTE_ANCHOR = '    app.router.add_get("/json", json_handler)\n'
NEW_ROUTE = '    app.router.add_get("/hello", json_handler)\n'


def _copy_tree(target: Path) -> None:
    """The checkout's tracked files as they are in the working tree, and its venv."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source, copy = REPO / name, target / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():  # playbooks/group_vars is one
            os.symlink(os.readlink(source), copy)
        elif source.is_file():
            shutil.copy2(source, copy)
    os.symlink(os.path.realpath(REPO / ".venv"), target / ".venv")


def _insert_before(path: Path, anchor: str, text: str) -> None:
    content = path.read_text(encoding="utf-8")
    assert content.count(anchor) == 1, f"{path}: the anchor {anchor!r} moved; update this test"
    path.write_text(content.replace(anchor, text + anchor), encoding="utf-8")


@pytest.fixture(scope="module")
def hello_tree(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tree = tmp_path_factory.mktemp("hello-tree")
    _copy_tree(tree)
    _insert_before(tree / "labcore" / "test_types.py", ANCHOR, NEW_ENTRY)
    app = tree / "apps" / "aiohttp" / "app.py"
    _insert_before(app, ROUTE_ANCHOR, NEW_ROUTE)
    yield tree
    # The lab's aiohttp goes back to the repository's app, as the other e2e tests expect it.
    restored = run_playbook("site.yml", extra={"lab_frameworks": E2E_FRAMEWORKS})
    assert restored.returncode == 0, restored.output[-4000:]


@pytest.fixture(scope="module")
def hello_run(hello_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[PlaybookRun, Path]:
    results = tmp_path_factory.mktemp("hello-results")
    provision = run_playbook("site.yml", extra={"lab_frameworks": E2E_FRAMEWORKS}, tree=hello_tree)
    assert provision.returncode == 0, provision.output[-6000:]
    extra = {
        **TINY,
        "lab_frameworks": ["aiohttp"],
        "lab_test_types": ["hello", "json"],
        "lab_results_dir": str(results),
    }
    run = run_playbook("benchmark.yml", extra=extra, tree=hello_tree)
    assert run.returncode == 0, run.output[-6000:]
    return run, (results / "latest").resolve()


def test_the_repository_refuses_the_type_it_does_not_define() -> None:
    run = run_playbook("validate.yml", extra={"lab_test_types": ["hello"]})
    assert run.returncode != 0
    assert "hello" in run.text and "lab_test_types" in run.text, run.output[-3000:]


def test_the_new_type_is_verified_by_its_body_kind(hello_run: tuple[PlaybookRun, Path]) -> None:
    _, run_dir = hello_run
    summary = json.loads((run_dir / "verify" / "aiohttp" / "summary.json").read_text())
    assert summary["grades"]["hello"] == "pass", summary
    verification = (run_dir / "verify" / "aiohttp" / "verification.txt").read_text()
    assert re.search(r"^pass\s+body\s+\S+/hello$", verification, re.M), verification[:3000]


def test_the_new_type_is_swept_and_reported(hello_run: tuple[PlaybookRun, Path]) -> None:
    _, run_dir = hello_run
    tidy = pd.read_csv(run_dir / "tidy.csv")
    rows = tidy[(tidy.framework == "aiohttp") & (tidy.test_type == "hello")]
    assert sorted(rows.level) == sorted(CONCURRENCY_LEVELS), rows
    assert (rows.totalRequests > 0).all(), rows
    raw = list((run_dir / "raw").glob("aiohttp/hello/*/*.meta.json"))
    assert raw, "no raw output of the new type"
    assert all("/hello" in json.loads(p.read_text())["url"] for p in raw), raw
    assert "hello" in (run_dir / "report.html").read_text()
    # Not TechEmpower's: results.json keeps its own types only.
    results = json.loads((run_dir / "results.json").read_text())
    assert "hello" not in json.dumps(results.get("rawData", {}))
