"""The scenario sweep: the scenario types over several server configurations, one run per configuration.

    .venv/bin/python playbooks/scenario_sweep.py [-i INVENTORY] [--only NAME ...] [-- ANSIBLE-PLAYBOOK ARGS]
    make scenario-sweep [INVENTORY=...] [ARGS="-e lab_duration_s=5"]

One run holds one configuration per framework, so comparing flask on the sync worker with flask on gevent
takes two runs. The configurations are `lab_scenario_sweep` in group_vars/all/benchmark.yml: each entry has a
name, its frameworks and their app_server_framework_settings. Every entry is validated first (validate.yml in
check mode, with its settings), before any host changes. Then, for each entry: site.yml with the app tier only
(`--tags app_server`) deploys the configuration, benchmark.yml runs the scenario types into
results/scen-<name>-<timestamp>/. The end prints one table over all the runs (each framework labelled with its
configuration, e.g. "flask [gunicorn gevent, 2 workers, raw, nginx]") and writes it as
results/scenario-sweep-<timestamp>.csv. A failed entry is reported and the sweep goes on with the next.

On the localhost inventory, run it under the lab's lock: flock /tmp/lab-localhost.lock make scenario-sweep.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
# Run as a script from playbooks/: the registry lives at the repository's root.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from labcore import test_types  # noqa: E402
from roles.lab_settings.files import lab_settings_rules  # noqa: E402

BENCHMARK_VARS = REPO / "group_vars" / "all" / "benchmark.yml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
SCENARIO_TYPES = test_types.names(scenario=True)
TABLE_COLUMNS = ["configuration", "test_type", "level", "requestsPerSecond", "latencyAvg_ms", "flags", "run"]


class SweepError(ValueError):
    """A bad lab_scenario_sweep entry; the message names it and says what is allowed."""


def load_sweep(path: Path = BENCHMARK_VARS) -> list[dict[str, Any]]:
    """lab_scenario_sweep from the group_vars file, its shape checked by the lab's one settings schema (the
    rules across knobs, such as unique names, are validate.yml's, which runs before any entry)."""
    entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("lab_scenario_sweep")
    if entries is None:
        raise SweepError(f"lab_scenario_sweep is not set in {path}")
    problems = lab_settings_rules.schema_problems(
        {"lab_scenario_sweep": entries}, lab_settings_rules.Host(name="the controller")
    )
    if problems:
        raise SweepError(f"{path}: " + " ".join(problems))
    return [{"settings": {}, **entry} for entry in entries]


def entry_vars(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {"lab_frameworks": entry["frameworks"], "app_server_framework_settings": entry["settings"]}


def playbook(inventory: str, name: str, extra: Mapping[str, Any], *args: str) -> list[str]:
    return [str(ANSIBLE_PLAYBOOK), "-i", inventory, f"playbooks/{name}", "-e", json.dumps(extra), *args]


def run_logged(command: Sequence[str], log: Path) -> int:
    print(f"  $ {' '.join(command)}  (log: {log})", flush=True)
    with open(log, "w", encoding="utf-8") as out:
        return subprocess.run(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, check=False).returncode


def configuration_table(run_dirs: Sequence[Path]) -> pd.DataFrame:
    """One row per framework configuration x scenario type x level over the runs (columns TABLE_COLUMNS)."""
    rows: list[dict[str, Any]] = []
    for run_dir in run_dirs:
        summary_csv = run_dir / "summary.csv"
        if not summary_csv.is_file():
            continue
        summary = pd.read_csv(summary_csv)
        for framework_file in sorted((run_dir / "frameworks").glob("*.json")):
            outcome = json.loads(framework_file.read_text(encoding="utf-8"))
            label = (outcome.get("metadata") or {}).get("display_name") or outcome["framework"]
            own = summary[
                (summary["framework"] == outcome["framework"]) & summary["test_type"].isin(SCENARIO_TYPES)
            ]
            for row in own.itertuples(index=False):
                rows.append(
                    {
                        "configuration": label,
                        "test_type": row.test_type,
                        "level": int(row.level),
                        "requestsPerSecond": round(float(row.requestsPerSecond), 1),
                        "latencyAvg_ms": round(float(row.latencyAvg_ms), 1),
                        "flags": row.flags if isinstance(row.flags, str) else "",
                        "run": run_dir.name,
                    }
                )
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return table.sort_values(["test_type", "level", "requestsPerSecond"], ascending=[True, True, False])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run the scenario types over the configurations of lab_scenario_sweep."
    )
    parser.add_argument("-i", "--inventory", default="inventory/local.yml")
    parser.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these entries of lab_scenario_sweep"
    )
    parser.add_argument(
        "ansible_args", nargs="*", help="after --: passed to both playbooks, e.g. -e lab_duration_s=5"
    )
    args = parser.parse_args(argv)
    try:
        entries = load_sweep()
    except SweepError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.only:
        unknown = sorted(set(args.only) - {e["name"] for e in entries})
        if unknown:
            print(
                f"error: --only {unknown}: not in lab_scenario_sweep ({[e['name'] for e in entries]})",
                file=sys.stderr,
            )
            return 2
        entries = [e for e in entries if e["name"] in args.only]
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    logs = REPO / "results" / f"scenario-sweep-{stamp}-logs"
    logs.mkdir(parents=True)
    # Every configuration is checked before any host changes.
    for entry in entries:
        extra = {**entry_vars(entry), "lab_test_types": SCENARIO_TYPES}
        command = playbook(args.inventory, "validate.yml", extra, "--check", *args.ansible_args)
        if run_logged(command, logs / f"{entry['name']}-validate.log") != 0:
            print(
                f"error: lab_scenario_sweep entry {entry['name']!r} is refused; see its log", file=sys.stderr
            )
            return 2
    run_dirs: list[Path] = []
    failed: list[str] = []
    for entry in entries:
        name = entry["name"]
        print(f"== {name}: {', '.join(entry['frameworks'])} {json.dumps(entry['settings'])}", flush=True)
        site = playbook(
            args.inventory, "site.yml", entry_vars(entry), "--tags", "app_server", *args.ansible_args
        )
        run_id = f"scen-{name}-{stamp}"
        bench_vars = {**entry_vars(entry), "lab_test_types": SCENARIO_TYPES, "lab_run_id": run_id}
        bench = playbook(args.inventory, "benchmark.yml", bench_vars, *args.ansible_args)
        if (
            run_logged(site, logs / f"{name}-site.log") != 0
            or run_logged(bench, logs / f"{name}-benchmark.log") != 0
        ):
            failed.append(name)
        run_dirs.append(REPO / "results" / run_id)
    table = configuration_table(run_dirs)
    out = REPO / "results" / f"scenario-sweep-{stamp}.csv"
    table.to_csv(out, index=False)
    with pd.option_context("display.width", 200, "display.max_rows", 1000, "display.max_colwidth", 70):
        print(table.to_string(index=False))
    print(f"table: {out}")
    if failed:
        print(f"error: these configurations failed (see {logs}): {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
