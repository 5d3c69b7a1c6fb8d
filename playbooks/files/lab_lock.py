#!/usr/bin/env python3
"""One run at a time on a lab host (or on the controller's results directory): a lock file naming its owner.

    lab_lock.py take --path FILE --owner JSON --controller-id ID --live-pids PID[,PID...]
    lab_lock.py release --path FILE --token TOKEN

The owner is the playbook run that holds the host: {"token", "run_id", "playbook", "controller",
"controller_id", "pid", "since"}. ``take`` creates the file atomically (O_EXCL) and prints
{"taken": true, "took_over": null, "holder": null}. When another run holds it:

- its owner is gone (its controller is this one, ``--controller-id``, and its pid is none of ``--live-pids``,
  the ansible-playbook processes alive there): the lock is taken over, and the old owner is printed as
  ``took_over``, so the playbook can say so;
- otherwise it prints {"taken": false, "took_over": null, "holder": {...}}: the caller fails, naming who
  holds it. An owner on another controller cannot be checked from here: it is held until it is released or
  the file is removed.

The same owner taking it again (a playbook that takes it twice) keeps it. ``release`` removes the file only
when it is the token's. Stdlib only; exit status 0 whatever the answer, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _read(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"token": "", "unreadable": True}  # a half-written file of a run that died: gone
    return value if isinstance(value, dict) else {"token": "", "unreadable": True}


def _create(path: Path, owner: dict[str, Any]) -> bool:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(owner) + "\n")
    return True


def gone(holder: dict[str, Any], controller_id: str, live_pids: set[int]) -> bool:
    """True when the holder's run surely ended: an unreadable file, or a pid gone from this controller."""
    if holder.get("unreadable"):
        return True
    return holder.get("controller_id") == controller_id and int(holder.get("pid") or 0) not in live_pids


def take(path: Path, owner: dict[str, Any], controller_id: str, live_pids: set[int]) -> dict[str, Any]:
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(3):  # another run may take or release it between our reads
        if _create(path, owner):
            return {"taken": True, "took_over": None, "holder": None}
        holder = _read(path)
        if holder is None:
            continue
        if holder.get("token") == owner["token"]:
            return {"taken": True, "took_over": None, "holder": None}
        if not gone(holder, controller_id, live_pids):
            return {"taken": False, "took_over": None, "holder": holder}
        # Replaced in one rename: a run racing us for the same stale lock sees either file, never none.
        tmp = path.with_name(f".{path.name}.{owner['token'].replace(':', '_')}")
        tmp.write_text(json.dumps(owner) + "\n", encoding="utf-8")
        tmp.replace(path)
        if (_read(path) or {}).get("token") == owner["token"]:
            return {"taken": True, "took_over": holder, "holder": None}
    return {"taken": False, "took_over": None, "holder": _read(path) or {}}


def release(path: Path, token: str) -> dict[str, Any]:
    holder = _read(path)
    if holder is not None and holder.get("token") == token:
        path.unlink(missing_ok=True)
        return {"released": True}
    return {"released": False}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one run at a time: the lab's lock files")
    commands = parser.add_subparsers(dest="command", required=True)
    take_parser = commands.add_parser("take")
    take_parser.add_argument("--path", type=Path, required=True)
    take_parser.add_argument("--owner", required=True, help="the owner record (JSON, with a token)")
    take_parser.add_argument("--controller-id", required=True)
    take_parser.add_argument("--live-pids", default="", help="comma-separated pids alive on that controller")
    release_parser = commands.add_parser("release")
    release_parser.add_argument("--path", type=Path, required=True)
    release_parser.add_argument("--token", required=True)
    args = parser.parse_args(argv)
    if args.command == "take":
        owner = json.loads(args.owner)
        pids = {int(p) for p in args.live_pids.split(",") if p.strip().isdigit()}
        print(json.dumps(take(args.path, owner, args.controller_id, pids)))
    else:
        print(json.dumps(release(args.path, args.token)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
