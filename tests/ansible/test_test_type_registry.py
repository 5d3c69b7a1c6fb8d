"""Every consumer of the test types agrees with the registry (labcore/test_types.py).

The playbooks' view (playbooks/vars/test_types.yml, rendered by a real ansible-playbook with the repository's
group_vars), the settings' allowed values (roles/lab_settings: the schema and its error message), the
verifier's rules, the analysis (TechEmpower names, level lists, ceiling types), the scenario sweep and the
Makefile all derive from the registry or are checked against it here, so adding a type is one entry plus its
routes and nothing can drift.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from analysis import ceiling, tables, tfb_results
from analysis.verify import rules
from labcore import test_types

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
SCENARIO_PARAMS = {"sleep_ms": 7, "cpu_n": 11, "upstream_ms": 13}


@pytest.fixture(scope="module")
def playbook_view(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """lab_test_type_specs and lab_db_test_types as the playbooks see them, with SCENARIO_PARAMS."""
    tmp = tmp_path_factory.mktemp("registry")
    out = tmp / "view.json"
    vars_files = [str(p) for p in sorted((REPO / "group_vars" / "all").glob("*.yml"))]
    vars_files.append(str(REPO / "playbooks" / "vars" / "test_types.yml"))
    playbook = [
        {
            "name": "The playbooks' view of the test types",
            "hosts": "localhost",
            "gather_facts": False,
            "vars_files": vars_files,
            "tasks": [
                {
                    "name": "Write it",
                    "ansible.builtin.copy": {
                        "dest": str(out),
                        "content": "{{ {'specs': lab_test_type_specs, 'db': lab_db_test_types} | to_json }}",
                        "mode": "0644",
                    },
                }
            ],
        }
    ]
    (tmp / "view.yml").write_text(yaml.safe_dump(playbook), encoding="utf-8")
    env = {**os.environ, "ANSIBLE_FILTER_PLUGINS": str(REPO / "playbooks" / "filter_plugins")}
    proc = subprocess.run(
        [
            str(ANSIBLE_PLAYBOOK),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            "-e",
            json.dumps({"lab_scenario_params": SCENARIO_PARAMS}),
            str(tmp / "view.yml"),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    view: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return view


def test_playbooks_see_the_registry(playbook_view: dict[str, Any]) -> None:
    assert list(playbook_view["specs"]) == test_types.names()
    for name, spec in playbook_view["specs"].items():
        entry = test_types.get(name)
        assert spec["path"] == entry.request_path(SCENARIO_PARAMS)
        assert "{" not in spec["path"], f"{name}: a scenario parameter was left unfilled: {spec['path']}"
        assert (spec["sweep"], spec["accept_header"], spec["scenario"]) == (
            entry.sweep,
            entry.accept_header,
            entry.scenario,
        )
    assert playbook_view["db"] == [t.name for t in test_types.TEST_TYPES.values() if t.uses_db]


def test_settings_allow_exactly_the_registry() -> None:
    schema = yaml.safe_load((REPO / "roles" / "lab_settings" / "files" / "settings.schema.yml").read_text())
    entry = schema["properties"]["lab_test_types"]
    assert entry["items"]["enum"] == test_types.names()
    # The message lists them too.
    assert entry["x-allowed"] == f"test types ({', '.join(test_types.names())})"
    default = yaml.safe_load((REPO / "group_vars" / "all" / "benchmark.yml").read_text())["lab_test_types"]
    assert set(default) <= set(test_types.names())


def test_verifier_rules_follow_the_registry() -> None:
    assert list(rules.TEST_TYPES) == test_types.names(scenario=False)
    assert set(rules.DB_TYPES) == {t.name for t in test_types.TEST_TYPES.values() if t.uses_db}
    for name in rules.TEST_TYPES:
        entry = test_types.get(name)
        assert rules.PATHS[name] == entry.path
        assert rules.accept_header(name) == entry.accept_header
        assert rules.CONTENT_TYPES[name].media_type == entry.media_type
    for name, hit in rules.DB_HITS.items():
        assert hit.path.startswith(test_types.get(name).path)


def test_analysis_follows_the_registry() -> None:
    for entry in test_types.TEST_TYPES.values():
        assert tfb_results.is_tfb_type(entry.name) == (entry.tfb_name is not None)
        assert tfb_results.levels_key(entry.name) == entry.levels_setting
        if entry.tfb_name:
            assert tfb_results.tfb_type(entry.name) == entry.tfb_name
            assert entry.tfb_name in tfb_results.TFB_TYPES
        assert (entry.name in tables.QUERY_SWEEP_TYPES) == (entry.sweep == "queries")
    assert list(ceiling.CEILING_TYPES) == [t.name for t in test_types.TEST_TYPES.values() if t.ceiling]


def test_makefile_scenario_types_come_from_the_registry() -> None:
    proc = subprocess.run(
        ["make", "--no-print-directory", "-s", "-f", "Makefile", "-f", "-", "print-scenario-types"],
        cwd=REPO,
        input="print-scenario-types:\n\t@echo $(SCENARIO_TYPES)\n",
        capture_output=True,
        text=True,
        check=True,
    )
    assert proc.stdout.split() == test_types.names(scenario=True)


def test_registry_cli() -> None:
    run = [sys.executable, "-m", "labcore.test_types"]
    names = subprocess.run([*run, "--names"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    assert names.split() == test_types.names()
    dump = json.loads(subprocess.run(run, cwd=REPO, capture_output=True, text=True, check=True).stdout)
    assert dump == json.loads(json.dumps(test_types.specs()))


def test_unknown_type_is_named() -> None:
    with pytest.raises(KeyError, match=r"'nosuch'.*known: json, plaintext"):
        test_types.get("nosuch")
