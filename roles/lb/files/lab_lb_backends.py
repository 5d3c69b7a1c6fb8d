#!/usr/bin/env python3
"""Put the first N app hosts behind the balancer (roles/lb; the scale-out curve of issue 18).

The role renders one upstream file per count, backends-<N>.conf with the first N app hosts, and the
balancer's nginx.conf includes the one a symlink points at. This points the link at backends-<N>.conf, checks
the whole configuration with `nginx -t` (and points it back when that fails), then reloads the running nginx
(SIGHUP to its master) and waits until its workers are all of the new configuration. Prints "changed" or
"unchanged" on the first line; exits 1 with the reason on stderr when nothing could be switched.
Standard library only: it runs on the balancer's host with the system Python.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

NGINX = "/usr/sbin/nginx"


def children(pid: int, proc: Path = Path("/proc")) -> set[int]:
    """The processes whose parent is pid (nginx's workers of that master)."""
    found = set()
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text(encoding="ascii", errors="replace")
        except OSError:
            continue  # ended while we looked
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after its last ")".
        fields = text[text.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1] == str(pid):
            found.add(int(stat.parent.name))
    return found


def switch(link: Path, target: Path) -> str | None:
    """Points link at target atomically; returns the previous target (None: it already pointed there)."""
    previous = os.readlink(link) if link.is_symlink() else ""
    if previous == str(target):
        return None
    staged = link.with_name(link.name + ".new")
    staged.unlink(missing_ok=True)
    staged.symlink_to(target)
    os.replace(staged, link)
    return previous


def reload(pid_file: Path, timeout_s: float) -> str | None:
    """SIGHUP to the master, then wait until a new worker runs and every old one has exited (an old worker
    still accepts connections for a moment after the new ones start); the problem, or None."""
    try:
        master = int(pid_file.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return f"the balancer's nginx is not running ({pid_file} unreadable)"
    before = children(master)
    os.kill(master, signal.SIGHUP)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = children(master)
        if now - before and not now & before:
            return None
        time.sleep(0.05)
    return (
        f"nginx (pid {master}) did not replace its workers with ones of the new configuration within"
        f" {timeout_s:.0f} s (an old worker still holds a connection, or none was started)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, required=True, help="where backends-<N>.conf are")
    parser.add_argument("--active", type=Path, required=True, help="the symlink nginx.conf includes")
    parser.add_argument("--conf", type=Path, required=True, help="the balancer's nginx.conf")
    parser.add_argument("--pid-file", type=Path, required=True, help="the balancer's nginx master's pid file")
    parser.add_argument("--timeout-s", type=float, default=10.0)
    parser.add_argument("count", type=int, help="how many app hosts, the first ones of the app group")
    args = parser.parse_args(argv)
    target = args.dir / f"backends-{args.count}.conf"
    if not target.is_file():
        have = sorted(int(p.stem.split("-")[1]) for p in args.dir.glob("backends-*.conf"))
        print(f"no upstream file for {args.count} app host(s) in {args.dir}; it has {have}", file=sys.stderr)
        return 1
    previous = switch(args.active, target)
    if previous is None:
        print("unchanged")
        return 0
    test = subprocess.run([NGINX, "-t", "-q", "-c", str(args.conf)], capture_output=True, text=True)
    if test.returncode != 0:
        switch(args.active, Path(previous))
        print(f"nginx -t refused {target}, the balancer keeps {previous}:\n{test.stderr}", file=sys.stderr)
        return 1
    problem = reload(args.pid_file, args.timeout_s)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    print(f"changed\n{args.count} app host(s) behind the balancer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
