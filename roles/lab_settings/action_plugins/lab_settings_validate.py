"""Validate the lab's settings on one host, on the controller: the one validation step of roles/lab_settings.

It renders every knob of the schema (files/settings.schema.yml) that applies to the host's groups, one knob at
a time, so that a knob that cannot be rendered is named rather than failing the task with Jinja's message, and
hands the values to files/lab_settings_rules.py, which decides. It changes nothing; it works in check mode.

Order: the host's own lab_address first (every cross-host knob renders some host's), then lab_profile and
lab_profiles (the level and duration knobs are rendered from the preset), then everything else. A knob that
fails to render because another host lacks its lab_address is left to that host, which reports it.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from ansible.plugins.action import ActionBase

_FILES = str(Path(__file__).resolve().parents[1] / "files")
if _FILES not in sys.path:
    sys.path.insert(0, _FILES)

import lab_settings_rules as rules  # noqa: E402


def _plain(value: Any) -> Any:
    """value as plain Python (Ansible's templating returns its own subclasses of str, dict and list)."""
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    for kind in (int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _manifests(apps_dir: Path) -> dict[str, Any]:
    """{framework: apps/<framework>/lab.yml} of every app on the controller."""
    return {
        path.parent.name: yaml.safe_load(path.read_text(encoding="utf-8"))
        for path in sorted(apps_dir.glob("*/lab.yml"))
    }


class ActionModule(ActionBase):  # type: ignore[misc]
    TRANSFERS_FILES = False
    _requires_connection = False

    def _render(self, value: Any) -> Any:
        return _plain(self._templar.template(value))

    def _lab_address_problem(self, host: str, task_vars: Mapping[str, Any]) -> str | None:
        try:
            self._render(task_vars["lab_address"])
        except Exception:  # undefined in any form: the message says what to set
            hosts = len(task_vars.get("groups", {}).get("all", []))
            return (
                f"lab_address is not set for {host} (absent; the inventory has {hosts} hosts); allowed: the"
                f" IP address the other tiers reach {host} at, set on every host of an inventory of several"
                " hosts,"
                " e.g. lab_address: 10.0.0.11 beside its ansible_host (ansible_host is the controller's SSH"
                f" address and is not used for it). Only a one-host inventory falls back to 127.0.0.1."
            )
        return None

    def _others_lack_lab_address(self, host: str, task_vars: Mapping[str, Any]) -> bool:
        hostvars = task_vars.get("hostvars", {})
        for other in task_vars.get("groups", {}).get("all", []):
            if other == host:
                continue
            try:
                self._render(hostvars[other]["lab_address"])
            except Exception:  # that host reports it itself
                return True
        return False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result: dict[str, Any] = super().run(tmp, task_vars)
        host = str(task_vars["inventory_hostname"])
        groups = [str(group) for group in task_vars.get("group_names", [])]

        problem = self._lab_address_problem(host, task_vars)
        if problem:
            return {**result, "failed": True, "msg": problem}

        settings: dict[str, Any] = {}
        problems: list[str] = []
        for name in ("lab_profile", "lab_profiles"):
            settings[name] = self._render(task_vars[name]) if name in task_vars else None
        problems = rules.profile_problems(settings["lab_profile"], settings["lab_profiles"])
        if problems:
            return {**result, "failed": True, "msg": " ".join(problems), "problems": problems}

        unrendered: list[str] = []
        postgres_defaults = yaml.safe_load(rules.POSTGRES_DEFAULTS.read_text(encoding="utf-8"))
        for name in rules.knobs():
            entry = rules.schema()["properties"][name]
            applies_to = rules.groups_of(name)
            if name in settings or (applies_to is not None and not set(applies_to) & set(groups)):
                continue
            if entry.get("x-from-hosts"):
                continue
            if name == "lab_db_password" and not str(settings.get("lab_secrets_dir", "")).startswith("/"):
                # Rendering it generates the password into lab_secrets_dir: not into a relative path, which
                # the schema refuses below.
                continue
            if name in task_vars:
                try:
                    settings[name] = self._render(task_vars[name])
                except Exception as error:  # named, with Ansible's reason
                    unrendered.append(f"{name} on {host} cannot be rendered: {error}")
            elif entry.get("x-checked-by") == "postgres_settings" and not entry.get("x-when-set"):
                settings[name] = postgres_defaults[name]
            elif not entry.get("x-checked-by") and not entry.get("x-optional"):
                unrendered.append(
                    f"{name} is not set on {host}; allowed: {rules.allowed(rules.knob_schema(name))}"
                    " (group_vars/all/*.yml define every knob)."
                )
        if unrendered and not self._others_lack_lab_address(host, task_vars):
            return {**result, "failed": True, "msg": " ".join(unrendered), "problems": unrendered}
        if unrendered:
            return {
                **result,
                "changed": False,
                "skipped": True,
                "skipped_reason": "another host lacks its lab_address",
            }

        apps_dir = Path(
            self._render(task_vars["app_server_apps_src"])
            if "app_server_apps_src" in task_vars
            else Path(str(task_vars["playbook_dir"])) / ".." / "apps"
        ).resolve()
        inventory = {
            str(group): [str(h) for h in hosts] for group, hosts in task_vars.get("groups", {}).items()
        }
        where = rules.Host(host, groups, inventory, _manifests(apps_dir), str(apps_dir))
        problems = rules.settings_problems(settings, where)
        if problems:
            return {**result, "failed": True, "msg": " ".join(problems), "problems": problems}
        return {
            **result,
            "changed": False,
            "msg": f"lab_address={settings.get('lab_address')} on {host}: every setting is valid",
        }
