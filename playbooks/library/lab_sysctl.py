#!/usr/bin/python3
"""Set kernel settings to given values now, in /proc/sys, and write no file (teardown puts back a host's own).

ansible.posix.sysctl always writes the value into a sysctl file too; at teardown the lab's file goes and the
host's own files say what the next boot sets, so only the live values are put back here. A setting the host
(its network namespace) does not show is skipped and named. Values are compared as sysctl prints them, with
whitespace runs as one space ("1024 65535"). Check mode reports what would change.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

DOCUMENTATION = r"""
module: lab_sysctl
short_description: Set kernel settings to given values now, without writing a sysctl file
options:
  values:
    description: "{name: value}; a null value is skipped."
    type: dict
    required: true
"""

RETURN = r"""
settings:
  description: "[{name, before, after}] of the settings set (or that would be, in check mode)."
  type: list
absent:
  description: Settings this host does not show.
  type: list
"""


def normalized(value: object) -> str:
    return " ".join(str(value).split())


def apply(
    values: Mapping[str, object], check: bool, proc_sys: Path = Path("/proc/sys")
) -> tuple[list[dict[str, str]], list[str]]:
    changed: list[dict[str, str]] = []
    absent: list[str] = []
    for name, value in values.items():
        if value is None:
            continue
        path = proc_sys / name.replace(".", "/")
        try:
            current = normalized(path.read_text())
        except OSError:
            absent.append(name)
            continue
        wanted = normalized(value)
        if current == wanted:
            continue
        if not check:
            path.write_text(wanted + "\n")
        changed.append({"name": name, "before": current, "after": wanted})
    return changed, absent


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={"values": {"type": "dict", "required": True}}, supports_check_mode=True
    )
    try:
        changed, absent = apply(module.params["values"], module.check_mode)
    except OSError as exc:
        module.fail_json(msg=f"cannot set a kernel setting: {exc}")
    result: dict[str, Any] = {"changed": bool(changed), "settings": changed, "absent": absent}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
