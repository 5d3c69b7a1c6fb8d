"""The environment record of a run: ``results/<run>/environment.json``, {host: {...}}.

playbooks/environment.yml writes it.

Each host's record has: host, tiers, lab_address, collected_ms, hardware (cpu_model, vcpus, memory_mb, ...),
os (distribution, kernel, ...), sysctl, limits (nofile_soft, nofile_hard), versions (python, nginx, postgres,
postgres_server, wrk, sysstat), packages ({venv: {python, packages}} on app hosts), lab (git_commit,
git_dirty, ansible_core) and settings (the effective lab_*, app_server_*, postgres_*, ... variables, secrets
left out). This module reads it, checks that every host of the run has one, and describes it in one line
per host for the summary output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from analysis.resources import host_tiers

ENVIRONMENT_FILE = "environment.json"
# Keys that must never appear in the record (playbooks/vars/environment.yml leaves them out).
SECRET_KEY = re.compile(r"password|passwd|secret|token|credential", re.IGNORECASE)


def load_environment(run_dir: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """environment.json as {host: record} ({} with a warning when missing or unreadable)."""
    path = run_dir / ENVIRONMENT_FILE
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, [f"{path}: missing (no environment record for this run)"]
    except (OSError, ValueError) as exc:
        return {}, [f"{path}: unreadable ({exc})"]
    if not isinstance(value, dict) or not all(isinstance(r, dict) for r in value.values()):
        return {}, [f"{path}: not an object of host records"]
    return value, []


def missing_hosts(environment: Mapping[str, Any], hosts: Mapping[str, Sequence[str]]) -> list[str]:
    """Hosts of the run (run.json's hosts) without an environment record."""
    return sorted(host for host in host_tiers(hosts) if host not in environment)


def secret_keys(value: Any, path: str = "") -> list[str]:
    """Dotted paths of every key that looks like a secret, at any depth."""
    found: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if SECRET_KEY.search(str(key)):
                found.append(where)
            found.extend(secret_keys(item, where))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(secret_keys(item, f"{path}[{index}]"))
    return found


def environment_warnings(environment: Mapping[str, Any], hosts: Mapping[str, Sequence[str]]) -> list[str]:
    warnings = [f"host {host}: no environment record" for host in missing_hosts(environment, hosts)]
    warnings += [f"environment.json: {key} looks like a secret" for key in secret_keys(environment)]
    return warnings


def _get(record: Mapping[str, Any], *keys: str) -> Any:
    value: Any = record
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value


def describe_host(host: str, record: Mapping[str, Any]) -> str:
    """One line: host [tiers]: CPU, vCPUs, memory, OS, kernel, and the versions of the tier's software."""
    parts = []
    cpu = _get(record, "hardware", "cpu_model")
    vcpus = _get(record, "hardware", "vcpus")
    memory_mb = _get(record, "hardware", "memory_mb")
    if cpu:
        parts.append(str(cpu))
    if vcpus:
        parts.append(f"{vcpus} vCPU")
    if memory_mb:
        parts.append(f"{float(memory_mb) / 1024:.1f} GiB")
    distribution = " ".join(
        str(v) for v in (_get(record, "os", "distribution"), _get(record, "os", "distribution_version")) if v
    )
    if distribution:
        parts.append(distribution)
    if _get(record, "os", "kernel"):
        parts.append(f"Linux {_get(record, 'os', 'kernel')}")
    versions = record.get("versions") or {}
    if versions.get("python"):
        parts.append(f"Python {versions['python']}")
    for name in ("nginx", "wrk"):
        if versions.get(name):
            parts.append(str(versions[name]))
    if versions.get("postgres_server"):
        parts.append(f"PostgreSQL {versions['postgres_server']}")
    nofile = _get(record, "limits", "nofile_soft")
    if nofile:
        parts.append(f"nofile {nofile}")
    somaxconn = _get(record, "sysctl", "net.core.somaxconn")
    if somaxconn:
        parts.append(f"somaxconn {somaxconn}")
    tiers = "+".join(record.get("tiers") or [])
    return f"{host} [{tiers}]: " + ", ".join(parts)


def render_environment(environment: Mapping[str, Mapping[str, Any]]) -> str:
    """The environment block of the summary output ("" when there is no record)."""
    if not environment:
        return ""
    lines = ["== environment =="]
    lines += [describe_host(host, record) for host, record in sorted(environment.items())]
    commits = {str(_get(r, "lab", "git_commit") or "") for r in environment.values()} - {""}
    dirty = any(_get(r, "lab", "git_dirty") is True for r in environment.values())
    if commits:
        lines.append(
            f"lab commit: {', '.join(sorted(commits))}{' (with uncommitted changes)' if dirty else ''}"
        )
    return "\n".join(lines) + "\n"
