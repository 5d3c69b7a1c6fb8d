#!/usr/bin/python3
"""Remove the apt packages the lab installed, and only what they brought along.

``names`` are the packages the lab's roles installed that were not there before
(playbooks/library/lab_state.py recorded them). apt is asked first, with a simulation (``apt-get -s``), what
their removal would take along. It goes ahead only when everything it takes is one of ``names`` or was
installed automatically since ``installed_before`` (the host's packages before the lab: the dependencies the
lab's packages pulled in). First with ``--auto-remove`` (those dependencies go too), else without; else each
package alone, and a package whose removal would take anything else (a package installed by hand since, that
needs it; a dependency that was there before) is kept and named with what it would take. Without
``installed_before`` only ``names`` may go. Packages are removed, not purged: configuration files edited since
stay. Check mode reports what would go.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

DOCUMENTATION = r"""
module: lab_apt_remove
short_description: Remove the apt packages the lab installed, and only what they brought along
options:
  names:
    description: Packages the lab installed that were not there before.
    type: list
    elements: str
    required: true
  installed_before:
    description: Every package installed before the lab (null when not recorded).
    type: list
    elements: str
"""

RETURN = r"""
removed:
  description: Every package removed (or that would be, in check mode), the dependencies included.
  type: list
kept:
  description: "{package: [what its removal would take along]} of the packages left installed."
  type: dict
"""

REMOVAL = re.compile(r"^(?:Remv|Purg) (\S+)")
Simulate = Callable[[Sequence[str], bool], set[str]]


@dataclass
class Plan:
    remove: list[str] = field(default_factory=list)
    auto_remove: bool = False
    removed: list[str] = field(default_factory=list)  # remove plus what goes along
    kept: dict[str, list[str]] = field(default_factory=dict)


def bare(name: str) -> str:
    return name.split(":", 1)[0]


def parse_removals(output: str) -> set[str]:
    """The packages `apt-get -s remove` would remove ("Remv nginx [1.22.1-9]")."""
    return {bare(m.group(1)) for m in map(REMOVAL.match, output.splitlines()) if m}


def plan(
    names: Iterable[str],
    installed_now: set[str],
    auto: set[str],
    installed_before: set[str] | None,
    simulate: Simulate,
) -> Plan:
    candidates = sorted({n for n in names if n in installed_now})
    if not candidates:
        return Plan()
    wanted = set(candidates)

    def foreign(removed: set[str]) -> list[str]:
        """What a removal would take that the lab did not bring."""
        return sorted(
            p
            for p in removed
            if p not in wanted
            and not (installed_before is not None and p in auto and p not in installed_before)
        )

    for auto_remove in (True, False):
        removed = simulate(candidates, auto_remove)
        if not foreign(removed):
            return Plan(candidates, auto_remove, sorted(removed | wanted))
    kept: dict[str, list[str]] = {}
    for name in candidates:
        extra = foreign(simulate([name], False))
        if extra:
            kept[name] = extra
    rest = [n for n in candidates if n not in kept]
    for auto_remove in (True, False):
        if not rest:
            break
        removed = simulate(rest, auto_remove)
        if not foreign(removed):
            return Plan(rest, auto_remove, sorted(removed | set(rest)), kept)
    # Each alone takes nothing foreign but together they do: apt's resolver sees more than we do; keep all.
    together = foreign(simulate(rest, False)) if rest else []
    return Plan(kept={**kept, **dict.fromkeys(rest, together)})


def _apt_get(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"}
    return subprocess.run(
        ["apt-get", *args], capture_output=True, text=True, check=False, env=env, timeout=1800
    )


def simulate(names: Sequence[str], auto_remove: bool) -> set[str]:
    proc = _apt_get(["-s", "remove", *(["--auto-remove"] if auto_remove else []), *names])
    if proc.returncode != 0:
        raise RuntimeError(
            f"apt-get -s remove {' '.join(names)}: {proc.stderr.strip() or proc.stdout.strip()}"
        )
    return parse_removals(proc.stdout)


def installed(only: Sequence[str] = ()) -> set[str]:
    proc = subprocess.run(
        ["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\n", *only],
        capture_output=True,
        text=True,
        check=False,
    )
    return {bare(line.split()[0]) for line in proc.stdout.splitlines() if line.endswith(" installed")}


def auto_installed() -> set[str]:
    proc = subprocess.run(["apt-mark", "showauto"], capture_output=True, text=True, check=False)
    return {bare(line.strip()) for line in proc.stdout.splitlines() if line.strip()}


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "names": {"type": "list", "elements": "str", "required": True},
            "installed_before": {"type": "list", "elements": "str"},
        },
        supports_check_mode=True,
    )
    before = module.params["installed_before"]
    try:
        result = plan(
            module.params["names"],
            installed(),
            auto_installed(),
            set(before) if before is not None else None,
            simulate,
        )
    except RuntimeError as exc:
        module.fail_json(msg=str(exc))
    if result.remove and not module.check_mode:
        argv = ["-y", "-q", "remove", *(["--auto-remove"] if result.auto_remove else []), *result.remove]
        proc = _apt_get(argv)
        if proc.returncode != 0:
            module.fail_json(msg=f"apt-get {' '.join(argv)} failed", stdout=proc.stdout, stderr=proc.stderr)
    answer: dict[str, Any] = {"changed": bool(result.remove), "removed": result.removed, "kept": result.kept}
    module.exit_json(**answer)


if __name__ == "__main__":
    main()
