"""No playbook, and no task or vars file outside a role, names a path inside a role or a role's default.

The roles own their paths (lab-appctl, the app's configuration files, the sampler, the venvs) and export them
as variables (roles/app_server/tasks/exports.yml, roles/lab_base/tasks/exports.yml); a playbook that spells
one out breaks silently when the role moves it.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
# Paths only the roles create, and a role default repeated as a fallback.
FORBIDDEN = re.compile(r"/opt/lab/|/etc/lab/|/run/lab/|/var/lib/lab/|default\(8080\)|default\(5432\)")


def _yaml_files() -> list[Path]:
    return sorted(p for p in PLAYBOOKS.rglob("*.yml") if "group_vars" not in p.parts)


def test_there_are_playbooks_to_scan() -> None:
    names = {p.name for p in _yaml_files()}
    assert {"benchmark.yml", "site.yml", "run_start.yml", "sampler.yml"} <= names


@pytest.mark.parametrize("path", _yaml_files(), ids=lambda p: str(p.relative_to(PLAYBOOKS)))
def test_names_no_path_inside_a_role(path: Path) -> None:
    found = [
        f"{path.relative_to(PLAYBOOKS)}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line) and not line.lstrip().startswith("#")
    ]
    assert not found, "use the role's exported variable instead:\n" + "\n".join(found)


def test_the_scan_finds_what_it_forbids(tmp_path: Path) -> None:
    assert FORBIDDEN.search('  ansible.builtin.command: "/opt/lab/{{ id }}/bin/lab-appctl activate x"')
    assert FORBIDDEN.search('port: "{{ app_server_port | default(8080) | int }}"')
    assert not FORBIDDEN.search("app_server_appctl: \"{{ hostvars[h]['app_server_appctl'] }}\"")
