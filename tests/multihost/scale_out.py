"""The scale-out curve of both layouts of an app host behind the balancer, on namespace hosts; prints a table.

    .venv/bin/python -m tests.multihost.scale_out [--frameworks aiohttp] [--types json db]
        [--connections 64 256] [--duration 5] [--layouts nginx direct]

A benchmark, not a test: it prints figures and fails only when something does not run (pytest collects no
test here). It lives beside the multi-host suite because it drives that suite's namespace lab (conftest's
multihost_lab), which benchmarks/ may not import (tests/unit/test_labkit_boundary.py); it belongs in
benchmarks/ once that lab is part of labkit. It builds the
namespace lab of tests/multihost (tests/multihost/netns_lab.py: a balancer, three app hosts, a db host and a
client, each a network namespace with its own sshd and packet filter, reached over SSH only; everything is
torn down at the end), provisions it with site.yml, and for each layout runs benchmark.yml with
lab_app_host_counts [1, 2, 3]:

- nginx: each app host's own nginx in front of its app server's unix socket (app_server_nginx: true, the
  default); the balancer connects to that nginx;
- direct: the app server itself listening on the app host's lab address and port (app_server_nginx: false).

site.yml switches the layout between the runs. It prints each layout's peak requests/s per count of app
hosts and the efficiency rps(N) / (N x rps(1)) (each run's scaleout.csv), with the peak level's flags, and
where the runs are kept. Needs root, like the multi-host suite.

All six hosts share this machine's CPUs: the figures compare the two layouts here, and the curve shows what
adding app hosts on shared cores does, not what dedicated machines give.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import pandas as pd

from .conftest import REPO, MultiHostLab, multihost_lab

GROUPS = {"db": ["labdb"], "app": ["labapp", "labapp2", "labapp3"], "client": ["labclient2"], "lb": ["lablb"]}
COUNTS = [1, 2, 3]
LAYOUTS = {"nginx": True, "direct": False}


def measure(mh: MultiHostLab, inventory: Path, layout: str, args: argparse.Namespace) -> pd.DataFrame:
    provision = mh.run(
        inventory,
        "site.yml",
        extra={"lab_frameworks": args.frameworks, "app_server_nginx": LAYOUTS[layout]},
    )
    if provision.returncode != 0:
        sys.exit(f"site.yml ({layout}) exited {provision.returncode}:\n{provision.output[-4000:]}")
    results_dir = args.results_dir / layout
    results_dir.mkdir(parents=True, exist_ok=True)
    run = mh.run(
        inventory,
        "benchmark.yml",
        extra={
            "lab_frameworks": args.frameworks,
            "lab_test_types": args.types,
            "lab_concurrency_levels": args.connections,
            "lab_duration_s": args.duration,
            "lab_app_host_counts": COUNTS,
            "lab_ceiling": False,
            "lab_results_dir": str(results_dir),
        },
    )
    if run.returncode != 0:
        sys.exit(f"benchmark.yml ({layout}) exited {run.returncode}:\n{run.output[-4000:]}")
    run_dir = (results_dir / "latest").resolve()
    print(f"{layout}: {run_dir} ({run.seconds:.0f} s)", file=sys.stderr, flush=True)
    return pd.read_csv(run_dir / "scaleout.csv").assign(layout=layout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frameworks", nargs="+", default=["aiohttp"])
    parser.add_argument("--types", nargs="+", default=["json", "db"])
    parser.add_argument("--connections", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--duration", type=int, default=5, help="seconds per level")
    parser.add_argument("--layouts", nargs="+", choices=list(LAYOUTS), default=list(LAYOUTS))
    parser.add_argument("--results-dir", type=Path, default=REPO / "results" / "scale-out")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scale-out-") as work, multihost_lab(Path(work)) as mh:
        inventory = mh.inventory("scale-out", GROUPS)
        curves = [measure(mh, inventory, layout, args) for layout in args.layouts]
    table = pd.concat(curves, ignore_index=True)
    table["efficiency"] = table["efficiency"].map(lambda v: "n/a" if pd.isna(v) else f"{v:.2f}")
    table["requestsPerSecond"] = table["requestsPerSecond"].round(0).astype(int)
    columns = ["layout", "test_type", "curve", "app_hosts", "level", "requestsPerSecond", "efficiency"]
    ordered = table.sort_values(["test_type", "curve", "app_hosts", "layout"])
    print(ordered[[*columns, "flags"]].to_string(index=False))


if __name__ == "__main__":
    main()
