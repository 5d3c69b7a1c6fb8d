"""The environment record: analysis.environment on a real environment.json (written on this machine by
playbooks/environment.yml, tests/fixtures/environment/), and the host probe run for real."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from analysis.environment import (
    describe_host,
    environment_warnings,
    load_environment,
    missing_hosts,
    render_environment,
    secret_keys,
)

from .conftest import REPO

FIXTURE = REPO / "tests" / "fixtures" / "environment"
PROBE = REPO / "playbooks" / "files" / "lab_environment_probe.py"
ENV_VARS = yaml.safe_load((REPO / "playbooks" / "vars" / "environment.yml").read_text())


def test_load_and_describe_a_real_record() -> None:
    environment, warnings = load_environment(FIXTURE)
    assert warnings == []
    record = environment["localhost"]
    assert record["tiers"] == ["db", "app", "client"]
    assert record["hardware"]["vcpus"] >= 1 and record["hardware"]["memory_mb"] > 0
    assert record["sysctl"]["net.core.somaxconn"] and "nofile_soft" in record["limits"]
    assert {"python", "nginx", "postgres_server", "wrk"} <= set(record["versions"])
    assert any(line.startswith("aiohttp==") for line in record["packages"]["aiohttp"]["packages"])
    assert re.fullmatch(r"[0-9a-f]{40}", record["lab"]["git_commit"])
    assert "lab_repeats" in record["settings"]
    line = describe_host("localhost", record)
    assert line.startswith("localhost [db+app+client]: ")
    assert "vCPU" in line and "GiB" in line and "nginx/" in line and "PostgreSQL 15" in line
    text = render_environment(environment)
    assert text.startswith("== environment ==\n") and "lab commit: " in text


def test_every_host_needs_a_record() -> None:
    environment, _ = load_environment(FIXTURE)
    hosts = {"db": ["localhost"], "app": ["localhost"], "client": ["localhost", "client2"]}
    assert missing_hosts(environment, hosts) == ["client2"]
    assert environment_warnings(environment, hosts) == ["host client2: no environment record"]


def test_no_secret_in_the_real_record() -> None:
    environment, _ = load_environment(FIXTURE)
    assert secret_keys(environment) == []
    assert secret_keys({"h": {"settings": {"lab_db_password": "x"}, "l": [{"api_token": 1}]}}) == [
        "h.settings.lab_db_password",
        "h.l[0].api_token",
    ]


def test_missing_or_bad_file(tmp_path: Path) -> None:
    assert load_environment(tmp_path)[1] == [
        f"{tmp_path / 'environment.json'}: missing (no environment record for this run)"
    ]
    (tmp_path / "environment.json").write_text("[1, 2]")
    assert "not an object of host records" in load_environment(tmp_path)[1][0]
    assert render_environment({}) == ""


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("lab_repeats", True),
        ("app_server_workers", True),
        ("postgres_port", True),
        ("lab_base_sysctls", True),
        ("lab_db_password", False),
        ("app_server_db_password", False),
        ("postgres_db_password", False),
        ("lab_secrets_dir", False),
        ("lab_package_proxy", False),
        ("ansible_host", False),
        ("__lab_env_probe", False),
    ],
)
def test_recorded_setting_names(name: str, kept: bool) -> None:
    # The playbook selects with Ansible's match/search tests, which are Python's re.match/re.search.
    selected = bool(re.match(ENV_VARS["__lab_env_setting_pattern"], name)) and not re.search(
        ENV_VARS["__lab_env_secret_pattern"], name
    )
    assert selected is kept


def test_probe_on_this_machine(tmp_path: Path) -> None:
    venv = tmp_path / "venvs" / "demo"
    site = venv / "lib" / "python3.11" / "site-packages"
    (site / "Demo_Pkg-1.2.3.dist-info").mkdir(parents=True)
    (site / "Demo_Pkg-1.2.3.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: Demo-Pkg\nVersion: 1.2.3\n\nbody\n"
    )
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.11.2\n")
    proc = subprocess.run(
        [
            sys.executable,
            str(PROBE),
            "--sysctl",
            "net.core.somaxconn",
            "no.such.setting",
            "--venvs",
            str(tmp_path / "venvs"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    probed = json.loads(proc.stdout)
    assert probed["sysctl"]["net.core.somaxconn"].isdigit()
    assert probed["sysctl"]["no.such.setting"] is None
    assert (
        probed["limits"]["nofile_hard"] is None
        or probed["limits"]["nofile_hard"] >= probed["limits"]["nofile_soft"]
    )
    assert probed["packages"] == {"demo": {"python": "3.11.2", "packages": ["Demo-Pkg==1.2.3"]}}
    assert probed["versions"]["python"] == sys.version.split()[0]
    assert probed["versions"]["postgres_server"] is None  # no --pg-socket given
