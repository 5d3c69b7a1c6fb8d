"""How long the benchmark playbook spends verifying each framework (roles/benchmark/tasks/verify.yml).

    .venv/bin/python -m benchmarks.verify_time [--frameworks aiohttp flask] [--types json db ...] [--repo DIR]

Runs benchmark.yml with lab_verify_only on the localhost lab (provisioned beforehand: `make provision`) while
holding /tmp/lab-localhost.lock, with Ansible's profile_tasks callback, and prints per framework the seconds
from the first task of verify.yml ("Which types the rules cover") to its last ("Verification"). --repo runs
the playbooks of another checkout of the lab (e.g. `git archive <commit> | tar -x -C DIR`, with .venv linked),
against this checkout's secrets, to compare two versions of the verification on the same lab. A benchmark,
not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCK = Path("/tmp/lab-localhost.lock")
TFB_TYPES = ["json", "plaintext", "db", "queries", "fortunes", "updates"]
# profile_tasks prints under each banner the run's elapsed time last: "(0:00:00.045)  0:01:02.345 ***"
_BANNER = re.compile(r"^TASK \[(?:[\w.]+ : )?(?P<name>.*)\] \**$")
_ELAPSED = re.compile(r"\)\s+(?P<h>\d+):(?P<m>\d\d):(?P<s>\d\d(?:\.\d+)?) \*+$")


def task_starts(output: str) -> list[tuple[str, float]]:
    """(task name, seconds since the run began) of every task banner, in order."""
    starts: list[tuple[str, float]] = []
    name = None
    for line in output.splitlines():
        banner = _BANNER.match(line.strip())
        if banner:
            name = banner.group("name")
            continue
        elapsed = _ELAPSED.search(line.strip())
        if elapsed and name is not None:
            hours, minutes = int(elapsed.group("h")), int(elapsed.group("m"))
            starts.append((name, hours * 3600 + minutes * 60 + float(elapsed.group("s"))))
            name = None
    return starts


def verify_seconds(output: str, framework: str) -> float | None:
    starts = dict(reversed(task_starts(output)))  # the first banner of each name
    first = starts.get(f"Which types the rules cover | {framework}")
    last = starts.get(f"Verification | {framework}")
    return None if first is None or last is None else last - first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", nargs="+", default=["aiohttp", "flask"])
    parser.add_argument("--types", nargs="+", default=TFB_TYPES)
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose playbooks run")
    args = parser.parse_args(argv)
    extra = {
        "lab_frameworks": args.frameworks,
        "lab_test_types": args.types,
        "lab_verify_only": True,
        "lab_ceiling": False,
        "lab_secrets_dir": str(REPO / ".secrets"),
    }
    env = {**os.environ, "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks", "ANSIBLE_NOCOLOR": "1"}
    with tempfile.TemporaryDirectory(prefix="verify-time-") as results, open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        extra["lab_results_dir"] = results
        command = [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", "inventory/local.yml",
                   "playbooks/benchmark.yml", "-e", json.dumps(extra)]  # fmt: skip
        run = subprocess.run(command, cwd=args.repo, env=env, capture_output=True, text=True, check=False)
    if run.returncode != 0:
        print(run.stdout[-4000:] + run.stderr[-2000:], file=sys.stderr)
        return 1
    print(f"verification time per framework ({args.repo}, types {' '.join(args.types)}):")
    for framework in args.frameworks:
        seconds = verify_seconds(run.stdout, framework)
        print(f"  {framework:<10} {'?' if seconds is None else f'{seconds:.1f} s'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
