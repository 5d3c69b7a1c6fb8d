"""playbooks/validate.yml rejects bad benchmark settings with a message naming the variable and its value.

Real ansible-playbook runs against the repository's inventory (localhost), all in --check mode except one
plain run of the good settings. The runs are independent, so they start together once per module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
SECRETS_DIR = REPO / ".secrets"


@dataclass(frozen=True)
class Bad:
    """One bad setting: the -e arguments and the fragments its failure message must contain."""

    id: str
    extra_vars: tuple[str, ...]
    expected: tuple[str, ...]


BAD = [
    # Wrong type: caught by the role argument spec.
    Bad("int-not-a-number", ("lab_repeats=abc",), ("lab_repeats", "abc")),
    Bad(
        "int-list-with-a-string",
        ('{"lab_concurrency_levels": [16, "many"]}',),
        ("lab_concurrency_levels", "many"),
    ),
    # A string for a list passes the argument spec (it splits "a,b"); the preflight rejects it.
    Bad("list-as-a-string", ("lab_frameworks=aiohttp,flask",), ("lab_frameworks", "aiohttp,flask", "list")),
    # Out of range.
    Bad("repeats-zero", ("lab_repeats=0",), ("lab_repeats=0", "1..100")),
    Bad(
        "query-level-above-500", ('{"lab_query_levels": [1, 600]}',), ("lab_query_levels=[1, 600]", "1..500")
    ),
    Bad("pipeline-depth-zero", ("lab_pipeline_depth=0",), ("lab_pipeline_depth=0", "1..1024")),
    Bad("empty-levels", ('{"lab_concurrency_levels": []}',), ("lab_concurrency_levels=[]", "non-empty")),
    # Bad choice.
    Bad("unknown-profile", ("lab_profile=fast",), ("lab_profile", "fast", "quick, tfb")),
    Bad(
        "unknown-test-type", ('{"lab_test_types": ["json", "jsn"]}',), ("lab_test_types", "jsn", "plaintext")
    ),
    Bad("unknown-db-mode", ("lab_db_mode=sql",), ("lab_db_mode", "sql", "raw, orm")),
    # Combinations.
    Bad("unknown-framework", ('{"lab_frameworks": ["nosuch"]}',), ("lab_frameworks", "nosuch", "aiohttp")),
    Bad("duplicate-framework", ('{"lab_frameworks": ["flask", "flask"]}',), ("lab_frameworks", "flask")),
    Bad(
        "framework-without-db-mode",
        ('{"lab_frameworks": ["aiohttp", "crax"]}', "lab_db_mode=orm"),
        ("lab_db_mode=orm", "crax", "raw"),
    ),
    Bad("run-id-with-a-path", ("lab_run_id=../x",), ("lab_run_id", "../x")),
    Bad(
        "proxy-without-scheme",
        ("lab_package_proxy=10.0.0.1:3128",),
        ("lab_package_proxy", "10.0.0.1:3128", "http://host:port"),
    ),
    Bad("clock-skew-zero", ("lab_max_clock_skew_ms=0",), ("lab_max_clock_skew_ms=0", "1..60000")),
    # The scenario parameters: each key required, an int, within the bounds the apps clamp to.
    Bad(
        "scenario-sleep-above-the-clamp",
        ('{"lab_scenario_params": {"sleep_ms": 9000, "cpu_n": 1, "upstream_ms": 1}}',),
        ("lab_scenario_params.sleep_ms=9000", "0..5000"),
    ),
    Bad(
        "scenario-cpu-zero",
        ('{"lab_scenario_params": {"sleep_ms": 1, "cpu_n": 0, "upstream_ms": 1}}',),
        ("lab_scenario_params.cpu_n=0", "1..1000000"),
    ),
    Bad(
        "scenario-param-missing",
        ('{"lab_scenario_params": {"sleep_ms": 10}}',),
        ("missing required arguments: cpu_n, upstream_ms", "lab_scenario_params"),
    ),
    Bad(
        "scenario-param-not-a-number",
        ('{"lab_scenario_params": {"sleep_ms": 1, "cpu_n": "many", "upstream_ms": 1}}',),
        ("cpu_n", "lab_scenario_params", "many"),
    ),
]
GOOD_CHECK = "good-check"
GOOD_RUN = "good-run"
GOOD_SCENARIOS = "good-scenarios"
SCENARIO_SETTINGS = (
    '{"lab_test_types": ["sleep", "cpu", "upstream", "upstream_sync"],'
    ' "lab_scenario_params": {"sleep_ms": 0, "cpu_n": 1000000, "upstream_ms": 5000}}'
)


@dataclass(frozen=True)
class Run:
    returncode: int
    stats: dict[str, dict[str, int]]
    failure_messages: list[str]
    output: str


def failure_messages(result: dict[str, Any]) -> Iterator[str]:
    """The msg of every failed host result of the json callback's output, loop items included."""
    for play in result.get("plays", []):
        for task in play.get("tasks", []):
            for host_result in task.get("hosts", {}).values():
                items = host_result.get("results") if isinstance(host_result.get("results"), list) else []
                failed_items = [item for item in items if isinstance(item, dict) and item.get("failed")]
                for failed in failed_items or ([host_result] if host_result.get("failed") else []):
                    yield str(failed.get("msg", ""))
                    yield from (str(error) for error in failed.get("argument_errors", []))


def assert_refused(run: Run, expected: tuple[str, ...]) -> None:
    """The run failed, one failure message holds every fragment of ``expected``, and no host changed."""
    assert run.returncode != 0, run.output
    assert run.failure_messages, run.output
    assert any(all(fragment in message for fragment in expected) for message in run.failure_messages), (
        f"no failure message contains all of {expected}: {run.failure_messages}"
    )
    assert all(host["changed"] == 0 for host in run.stats.values()), run.stats


def run_validate(
    *extra_vars: str, check: bool = True, inventory: Path | None = None, playbook: str = "validate.yml"
) -> Run:
    """One run of playbooks/<playbook> (by default against ansible.cfg's inventory, the localhost one)."""
    command = [str(ANSIBLE_PLAYBOOK), f"playbooks/{playbook}"]
    if inventory is not None:
        command += ["-i", str(inventory)]
    if check:
        command.append("--check")
    for extra in extra_vars:
        command += ["-e", extra]
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.json",
        "ANSIBLE_NOCOLOR": "1",
    }
    proc = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    output = f"{proc.stdout}\n{proc.stderr}"
    try:
        result = json.loads(proc.stdout)
    except json.JSONDecodeError:
        result = {}
    return Run(proc.returncode, result.get("stats", {}), list(failure_messages(result)), output)


@pytest.fixture(scope="module")
def secrets_dir_existed() -> bool:
    return SECRETS_DIR.is_dir()


@pytest.fixture(scope="module")
def runs(secrets_dir_existed: bool) -> dict[str, Run]:
    """Every run of this module, started together (each is a few seconds of mostly idle startup)."""
    del secrets_dir_existed  # recorded before the plain run may create the directory
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        futures = {bad.id: pool.submit(run_validate, *bad.extra_vars) for bad in BAD}
        futures[GOOD_CHECK] = pool.submit(run_validate)
        futures[GOOD_RUN] = pool.submit(run_validate, check=False)
        futures[GOOD_SCENARIOS] = pool.submit(run_validate, SCENARIO_SETTINGS)
        return {run_id: future.result() for run_id, future in futures.items()}


@pytest.mark.parametrize("bad", BAD, ids=[bad.id for bad in BAD])
def test_bad_setting_is_rejected(runs: dict[str, Run], bad: Bad) -> None:
    assert_refused(runs[bad.id], bad.expected)


def test_crax_has_no_orm_mode() -> None:
    """The framework-without-db-mode case relies on this manifest."""
    manifest = yaml.safe_load((REPO / "apps" / "crax" / "lab.yml").read_text(encoding="utf-8"))
    assert manifest["db_modes"] == ["raw"]


def test_good_settings_pass_in_check_mode(runs: dict[str, Run], secrets_dir_existed: bool) -> None:
    run = runs[GOOD_CHECK]
    assert run.returncode == 0, run.output
    assert run.stats, run.output
    assert all(host["failures"] == 0 and host["unreachable"] == 0 for host in run.stats.values()), run.stats
    # Only the controller's secrets directory may be (reported as) created, and only on a first run.
    allowed_changes = 0 if secrets_dir_existed else 1
    assert sum(host["changed"] for host in run.stats.values()) <= allowed_changes, run.stats


def test_good_settings_pass(runs: dict[str, Run], secrets_dir_existed: bool) -> None:
    run = runs[GOOD_RUN]
    assert run.returncode == 0, run.output
    allowed_changes = 0 if secrets_dir_existed else 1
    assert sum(host["changed"] for host in run.stats.values()) <= allowed_changes, run.stats


def test_scenario_types_and_bounds_pass(runs: dict[str, Run]) -> None:
    run = runs[GOOD_SCENARIOS]
    assert run.returncode == 0, run.output
    assert all(host["failures"] == 0 for host in run.stats.values()), run.stats


def _first_play(playbook: str) -> dict[str, Any]:
    plays = yaml.safe_load((REPO / "playbooks" / playbook).read_text(encoding="utf-8"))
    assert isinstance(plays, list) and plays, f"playbooks/{playbook} is not a list of plays"
    first = plays[0]
    assert isinstance(first, dict)
    return first


@pytest.mark.parametrize("playbook", ["site.yml", "benchmark.yml"])
def test_playbook_validates_first(playbook: str) -> None:
    """Settings are validated before any play that changes a host."""
    first = _first_play(playbook)
    imported = first.get("ansible.builtin.import_playbook", first.get("import_playbook"))
    assert imported == "validate.yml", f"the first play of playbooks/{playbook} is {first}"


def test_validate_runs_lab_settings_on_all_hosts() -> None:
    play = _first_play("validate.yml")
    assert play["hosts"] == "all"
    assert play.get("any_errors_fatal") is True
    assert play.get("gather_facts") is False
    roles = [role["role"] if isinstance(role, dict) else role for role in play.get("roles", [])]
    assert roles[:1] == ["lab_settings"]
