"""playbooks/scenario_sweep.py without a lab: lab_scenario_sweep's checks and the table over several runs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location(
    "_test_scenario_sweep", REPO / "playbooks" / "scenario_sweep.py"
)
assert _spec is not None and _spec.loader is not None
sweep: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sweep)


def _write(tmp_path: Path, entries: object) -> Path:
    path = tmp_path / "benchmark.yml"
    path.write_text(yaml.safe_dump({"lab_scenario_sweep": entries}))
    return path


def test_the_group_vars_sweep_loads() -> None:
    entries = sweep.load_sweep()
    assert [e["name"] for e in entries][:2] == ["defaults", "sync"]
    workers = {e["name"]: e["settings"].get("flask", {}).get("worker_class") for e in entries}
    assert {"sync", "gevent", "gevent_unpatched"} <= set(workers.values())


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (None, "lab_scenario_sweep is not set"),
        ([], "lab_scenario_sweep=[] is empty; allowed: a non-empty list"),
        ([{"name": "a", "frameworks": ["flask"], "extra": 1}], 'lab_scenario_sweep=[{"extra": 1'),
        ([{"name": "a b", "frameworks": ["flask"]}], 'lab_scenario_sweep[0].name="a b" is not allowed'),
        ([{"name": "a", "frameworks": "flask"}], 'lab_scenario_sweep[0].frameworks="flask" is not a list'),
        (
            [{"name": "a", "frameworks": ["flask"], "settings": ["x"]}],
            'lab_scenario_sweep[0].settings=["x"] is not',
        ),
    ],
)
def test_bad_entries_are_refused(tmp_path: Path, entries: object, message: str) -> None:
    with pytest.raises(sweep.SweepError) as error:
        sweep.load_sweep(_write(tmp_path, entries))
    assert message in str(error.value)


def test_settings_default_to_none(tmp_path: Path) -> None:
    assert sweep.load_sweep(_write(tmp_path, [{"name": "x", "frameworks": ["flask"]}]))[0]["settings"] == {}


def _run(tmp_path: Path, name: str, framework: str, label: str, rps: float) -> Path:
    run = tmp_path / name
    (run / "frameworks").mkdir(parents=True)
    (run / "frameworks" / f"{framework}.json").write_text(
        json.dumps({"framework": framework, "metadata": {"display_name": label}})
    )
    pd.DataFrame(
        [
            {"test_type": "sleep", "framework": framework, "level": 16, "requestsPerSecond": rps,
             "latencyAvg_ms": 50.04, "flags": None},
            {"test_type": "json", "framework": framework, "level": 16, "requestsPerSecond": 9999.0,
             "latencyAvg_ms": 1.0, "flags": None},
        ]
    ).to_csv(run / "summary.csv", index=False)  # fmt: skip
    return run


def test_configuration_table_labels_each_run(tmp_path: Path) -> None:
    runs = [
        _run(tmp_path, "scen-sync-x", "flask", "flask [gunicorn sync, 2 workers, raw, nginx]", 38.0),
        _run(tmp_path, "scen-gevent-x", "flask", "flask [gunicorn gevent, 2 workers, raw, nginx]", 600.0),
        tmp_path / "scen-missing-x",  # a failed configuration has no summary: left out, not an error
    ]
    table = sweep.configuration_table(runs)
    assert list(table.columns) == sweep.TABLE_COLUMNS
    assert table["configuration"].tolist() == [
        "flask [gunicorn gevent, 2 workers, raw, nginx]",
        "flask [gunicorn sync, 2 workers, raw, nginx]",
    ]
    assert table["requestsPerSecond"].tolist() == [600.0, 38.0]
    assert set(table["test_type"]) == {"sleep"}  # only the scenario types
    assert table["flags"].tolist() == ["", ""]
