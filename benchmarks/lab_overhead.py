"""The benchmark playbook's overhead: its wall time over the time its wrk runs and pauses are configured for.

    .venv/bin/python -m benchmarks.lab_overhead [--frameworks aiohttp] [--profile quick] [-- ARGS...]
    .venv/bin/python -m benchmarks.lab_overhead --run results/<id> --wall-s 212.4     # an existing run

Runs what `make benchmark` runs on the localhost lab (provisioned beforehand: `make provision`) while holding
/tmp/lab-localhost.lock, the lock every suite that drives the localhost lab takes, then reads the run's raw
meta files and prints

    overhead = wall time of benchmark.yml / (sum of wrk durations + configured pauses)

The wrk durations are the configured ones of every point measured (the ceiling's and the frameworks', on one
client: the clients run in parallel), the pauses are pause_s between consecutive points of a sweep. Everything
else the playbook does (preflight, environment, verification, switching frameworks, fetching, the analysis)
is the overhead. A benchmark, not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
LOCK = Path("/tmp/lab-localhost.lock")


def configured_seconds(run_dir: Path, pause_s: int) -> tuple[int, int, int]:
    """(wrk seconds, pause seconds, points) of one client's points in a run, from their meta files."""
    per_sweep: dict[tuple[str, str], list[int]] = defaultdict(list)
    clients: set[str] = set()
    for meta_path in sorted((run_dir / "raw").glob("*/*/*/*.meta.json")):
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        clients.add(meta["client"])
        if meta["client"] != min(clients):
            continue
        per_sweep[(meta["framework"], meta["test_type"])].append(int(meta["duration_s"]))
    wrk = sum(sum(durations) for durations in per_sweep.values())
    pauses = sum(pause_s * (len(durations) - 1) for durations in per_sweep.values())
    points = sum(len(durations) for durations in per_sweep.values())
    return wrk, pauses, points


def profile_pause_s(profile: str) -> int:
    settings = yaml.safe_load((REPO / "group_vars" / "all" / "benchmark.yml").read_text(encoding="utf-8"))
    return int(settings["lab_profiles"][profile]["pause_s"])


def run_benchmark(frameworks: list[str], profile: str, extra: list[str]) -> tuple[float, Path]:
    # What `make benchmark` runs, without make's check of the venv's age (the venv may be shared).
    command = [
        str(REPO / ".venv" / "bin" / "ansible-playbook"),
        "-i",
        str(REPO / "inventory" / "local.yml"),
        "-e",
        f"lab_profile={profile}",
        "-e",
        json.dumps({"lab_frameworks": frameworks}),
        *extra,
        str(REPO / "playbooks" / "benchmark.yml"),
    ]
    with open(LOCK, "a") as lock:
        print(f"waiting for {LOCK} ...", file=sys.stderr, flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
        start = time.monotonic()
        proc = subprocess.run(command, check=False, stdout=sys.stderr, cwd=REPO)
        wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"benchmark.yml exited {proc.returncode}")
    return wall, Path(os.path.realpath(REPO / "results" / "latest"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frameworks", nargs="+", default=["aiohttp"])
    parser.add_argument("--profile", default="quick")
    parser.add_argument("--run", type=Path, help="an existing run directory (with --wall-s): no benchmark")
    parser.add_argument("--wall-s", type=float, help="the wall time of the existing run's benchmark.yml")
    parser.add_argument("extra", nargs="*", help="after --: passed to ansible-playbook")
    args = parser.parse_args()
    if args.run is not None:
        if args.wall_s is None:
            parser.error("--run needs --wall-s")
        wall, run_dir = args.wall_s, args.run
    else:
        wall, run_dir = run_benchmark(args.frameworks, args.profile, args.extra)
    pause_s = profile_pause_s(args.profile)
    wrk, pauses, points = configured_seconds(run_dir, pause_s)
    if wrk == 0:
        sys.exit(f"no measured point in {run_dir}")
    print(f"run:                {run_dir.name}")
    print(f"points (1 client):  {points}")
    print(f"wrk durations:      {wrk} s")
    print(f"pauses ({pause_s} s each): {pauses} s")
    print(f"wall time:          {wall:.1f} s")
    print(f"overhead:           {wall / (wrk + pauses):.2f}")


if __name__ == "__main__":
    main()
