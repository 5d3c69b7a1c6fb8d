#!/usr/bin/env python3
"""Print one JSON object describing this lab host: kernel settings, limits, CPU details and versions.

    lab_environment_probe.py [--sysctl NAME ...] [--venvs DIR] [--pg-socket DIR --pg-port N]
                             [--mariadb-socket PATH]

playbooks/environment.yml runs it on every host (ansible.builtin.script) and merges the object with the
host's facts into results/<run>/environment.json. Standard library only; whatever a host lacks (no nginx on
a db host, a sysctl a network namespace does not show) is null, never an error.

Keys: sysctl {name: value or null}, limits {nofile_soft, nofile_hard}, cpu {model, governor},
versions {python, nginx, postgres, postgres_server, wrk, sysstat}, packages {venv name: ["pkg==1.0", ...]}.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

TIMEOUT_S = 30


def _run(argv: list[str], user: str | None = None) -> str | None:
    """stdout + stderr of a command (some tools print their version on stderr), None if it cannot run."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, check=False, user=user)
    except (OSError, KeyError, subprocess.SubprocessError):  # KeyError: no such user
        return None
    return (proc.stdout + proc.stderr).strip()


def _first_line(text: str | None) -> str | None:
    return text.splitlines()[0].strip() if text else None


def sysctl_values(names: list[str]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for name in names:
        try:
            raw = Path("/proc/sys", *name.split(".")).read_text()
        except OSError:
            values[name] = None
            continue
        values[name] = " ".join(raw.split())
    return values


def nofile_limits() -> dict[str, int | None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    def plain(value: int) -> int | None:
        return None if value == resource.RLIM_INFINITY else value

    return {"nofile_soft": plain(soft), "nofile_hard": plain(hard)}


def cpu_details() -> dict[str, str | None]:
    model = None
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        model = match.group(1).strip() if match else None
    except OSError:
        pass
    try:
        governor: str | None = (
            Path("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor").read_text().strip()
        )
    except OSError:
        governor = None
    return {"model": model, "governor": governor}


def _postgres_binaries() -> list[Path]:
    return sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))


def postgres_server_version(socket_dir: str | None, port: int | None) -> str | None:
    if not socket_dir or not port or shutil.which("psql") is None:
        return None
    query = ["psql", "-h", socket_dir, "-p", str(port), "-d", "postgres", "-Atc", "SHOW server_version"]
    # Peer authentication admits the postgres superuser over the socket (roles/postgres pg_hba).
    out = _run(query, user="postgres" if os.geteuid() == 0 else None)
    return out if out and not out.lower().startswith("psql:") else None


def mariadb_server_version(socket: str | None) -> str | None:
    client = shutil.which("mariadb") or shutil.which("mysql")
    if not socket or client is None:
        return None
    # unix_socket authentication admits the host's root (roles/mariadb).
    out = _run([client, "--no-defaults", f"--socket={socket}", "--user=root", "-N", "-e", "SELECT VERSION()"])
    return out if out and not out.upper().startswith("ERROR") else None


def versions(socket_dir: str | None, port: int | None, mariadb_socket: str | None = None) -> dict[str, Any]:
    nginx = _first_line(_run(["nginx", "-v"])) if shutil.which("nginx") else None
    wrk = _first_line(_run(["wrk", "-v"])) if shutil.which("wrk") else None
    sysstat = _first_line(_run(["sadf", "-V"])) if shutil.which("sadf") else None
    postgres = [_first_line(_run([str(binary), "--version"])) for binary in _postgres_binaries()]
    mariadbd = _first_line(_run(["mariadbd", "--version"])) if shutil.which("mariadbd") else None
    return {
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "nginx": nginx.removeprefix("nginx version: ") if nginx else None,
        "postgres": [v for v in postgres if v] or None,
        "postgres_server": postgres_server_version(socket_dir, port),
        "mariadb": mariadbd,
        "mariadb_server": mariadb_server_version(mariadb_socket),
        "wrk": wrk.split(" Copyright")[0] if wrk else None,
        "sysstat": sysstat,
    }


def _distribution(metadata: Path) -> str | None:
    fields: dict[str, str] = {}
    try:
        with metadata.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if not line.strip():
                    break  # the headers end at the first blank line
                key, _, value = line.partition(":")
                fields.setdefault(key.strip().lower(), value.strip())
    except OSError:
        return None
    if "name" not in fields or "version" not in fields:
        return None
    return f"{fields['name']}=={fields['version']}"


def venv_packages(venvs: str | None) -> dict[str, Any]:
    """{venv: {"python": version, "packages": ["name==version", ...]}} for every venv under the directory.

    The list is what `pip freeze --all` prints, read from the installed distributions' metadata (running pip
    in every venv takes seconds each).
    """
    packages: dict[str, Any] = {}
    if not venvs or not Path(venvs).is_dir():
        return packages
    for venv in sorted(p for p in Path(venvs).iterdir() if (p / "pyvenv.cfg").is_file()):
        config = (venv / "pyvenv.cfg").read_text(errors="replace")
        match = re.search(r"^version(?:_info)?\s*=\s*(\S+)", config, re.MULTILINE)
        found = (_distribution(m) for m in venv.glob("lib/python*/site-packages/*.dist-info/METADATA"))
        packages[venv.name] = {
            "python": match.group(1) if match else None,
            "packages": sorted((d for d in found if d), key=str.lower),
        }
    return packages


def probe(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "sysctl": sysctl_values(args.sysctl),
        "limits": nofile_limits(),
        "cpu": cpu_details(),
        "versions": versions(args.pg_socket, args.pg_port, args.mariadb_socket),
        "packages": venv_packages(args.venvs),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sysctl", nargs="*", default=[], metavar="NAME")
    parser.add_argument("--venvs", metavar="DIR", help="directory whose subdirectories are venvs (app hosts)")
    parser.add_argument("--pg-socket", metavar="DIR", help="the lab cluster's socket directory (db hosts)")
    parser.add_argument("--pg-port", type=int, metavar="N")
    parser.add_argument("--mariadb-socket", metavar="PATH", help="the lab MariaDB's socket (db hosts)")
    print(json.dumps(probe(parser.parse_args(argv)), indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
