"""analysis.resources on real sampler output (tests/fixtures/runs/resources: sadc/sadf of three inventory
hosts sharing this machine, and real wrk levels), and lab-sampler itself run for real."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analysis.cli import main
from analysis.raw_files import load_raw_points
from analysis.resources import (
    CLIENT_SATURATED_CPU_PCT,
    DB_BOUND_CPU_PCT,
    DB_BOUND_IOWAIT_PCT,
    LEVEL_COLUMNS,
    PER_CORE_COLUMNS,
    SAMPLE_COLUMNS,
    ResourceDataError,
    add_level_resources,
    host_tiers,
    level_resources,
    load_resources,
    parse_sadf_json,
)
from analysis.tables import build_summary
from analysis.tidy import build_tidy

from .conftest import REPO

RUN = REPO / "tests" / "fixtures" / "runs" / "resources"
HOSTS = json.loads((RUN / "run.json").read_text())["hosts"]
SAMPLER = REPO / "roles" / "lab_base" / "files" / "lab_sampler.py"


def statistics_of(host: str) -> list[tuple[dict[str, Any], int]]:
    """(statistics entry, start_ms % 1000 of its segment) of every sample of a host, read with json only."""
    entries = []
    for path in sorted((RUN / "resources" / "raw" / host).glob("*.sa.json")):
        start = json.loads(path.with_name(path.name.replace(".sa.json", ".start.json")).read_text())
        for stat in json.loads(path.read_text())["sysstat"]["hosts"][0]["statistics"]:
            entries.append((stat, start["start_ms"] % 1000))
    return entries


def epoch_ms(stat: dict[str, Any], phase: int) -> int:
    stamp = stat["timestamp"]
    return int(pd.Timestamp(f"{stamp['date']} {stamp['time']}", tz="UTC").timestamp()) * 1000 + phase


def busy(stat: dict[str, Any]) -> float:
    cpu = stat["cpu-load"][0]
    assert cpu["cpu"] == "all"
    return float(sum(cpu[k] for k in ("usr", "nice", "guest", "gnice", "sys", "irq", "soft")))


@pytest.fixture(scope="module")
def loaded() -> Any:
    return load_resources(RUN, HOSTS)


@pytest.fixture(scope="module")
def tidy(loaded: Any) -> pd.DataFrame:
    return add_level_resources(build_tidy(load_raw_points(RUN).points), loaded.samples, HOSTS)


def test_host_tiers() -> None:
    assert host_tiers(HOSTS) == {"db1": "db", "app1": "app", "client1": "client"}
    shared = {"db": ["a"], "app": ["a", "b"], "client": ["a"]}
    assert host_tiers(shared) == {"a": "db+app+client", "b": "app"}


def test_every_sample_of_every_host_is_loaded(loaded: Any) -> None:
    assert loaded.warnings == []
    samples = loaded.samples
    assert list(samples.columns) == list(SAMPLE_COLUMNS)
    assert list(loaded.per_core.columns) == list(PER_CORE_COLUMNS)
    for host, tier in (("db1", "db"), ("app1", "app"), ("client1", "client")):
        rows = samples[samples["host"] == host]
        assert len(rows) == len(statistics_of(host)), host
        assert set(rows["tier"]) == {tier}
        assert set(rows["segment"].str.len()) == {len("seg-1795297828115")}
        assert rows["time_ms"].is_monotonic_increasing
    # two cores: two per-core rows per sample
    assert len(loaded.per_core) == 2 * len(samples)
    assert set(loaded.per_core["core"]) == {0, 1}


def test_one_sample_against_its_json(loaded: Any) -> None:
    stat, phase = statistics_of("app1")[4]  # printed 21:50:34 by sadf, taken at 21:50:34.500
    assert stat["timestamp"]["time"] == "21:50:34" and phase == 500
    row = loaded.samples[(loaded.samples["host"] == "app1")].iloc[4]
    cpu = stat["cpu-load"][0]
    assert row["time_ms"] == epoch_ms(stat, phase) == 1795297834500
    assert row["cpu_user_pct"] == pytest.approx(cpu["usr"] + cpu["nice"] + cpu["guest"] + cpu["gnice"])
    assert row["cpu_system_pct"] == pytest.approx(cpu["sys"] + cpu["irq"] + cpu["soft"])
    assert row["cpu_idle_pct"] == cpu["idle"] and row["cpu_iowait_pct"] == cpu["iowait"]
    assert row["mem_used_bytes"] == stat["memory"]["memused"] * 1024
    net = stat["network"]["net-dev"]
    assert row["net_rx_bytes_s"] == pytest.approx(sum(i["rxkB"] for i in net) * 1024)
    assert row["net_tx_packets_s"] == pytest.approx(sum(i["txpck"] for i in net))
    assert row["net_rx_bytes_s"] > 1_000_000  # wrk's traffic over lo during level c8-r1
    assert row["cswch_s"] == stat["process-and-context-switch"]["cswch"]
    assert row["cores"] == 2 and row["interval_s"] == 1.0


def test_a_level_gets_the_samples_fully_inside_it(tidy: pd.DataFrame) -> None:
    row = tidy[(tidy["level"] == 8) & (tidy["repeat"] == 1)].iloc[0]
    # c8-r1 ran from ...832.455 to ...835.496: the 1 s intervals ending at 833.500 and 834.500 (printed
    # 21:50:33 and 21:50:34) lie inside; the one ending at 835.500 does not.
    assert (row["start_ms"], row["end_ms"]) == (1795297832455, 1795297835496)
    inside = {
        host: [
            (stat, phase)
            for stat, phase in statistics_of(host)
            if epoch_ms(stat, phase) - 1000 >= row["start_ms"] and epoch_ms(stat, phase) <= row["end_ms"]
        ]
        for host in ("app1", "db1", "client1")
    }
    assert [s["timestamp"]["time"] for s, _ in inside["app1"]] == ["21:50:33", "21:50:34"]
    assert row["resource_samples"] == 2
    app = sum(busy(s) for s, _ in inside["app1"]) / 2
    db = sum(busy(s) for s, _ in inside["db1"]) / len(inside["db1"])
    client = sum(busy(s) for s, _ in inside["client1"]) / len(inside["client1"])
    assert row["app_cpu_pct"] == pytest.approx(app)
    assert row["db_cpu_pct"] == pytest.approx(db)
    assert row["client_cpu_pct"] == pytest.approx(client)
    # two cores busy app% of the time: app/100 * 2 * 1000 CPU-ms per second, for requestsPerSecond requests
    assert row["app_cpu_ms_per_1k_req"] == pytest.approx(
        app / 100 * 2 * 1000 / row["requestsPerSecond"] * 1000
    )
    assert row["client_saturated"] == (client >= CLIENT_SATURATED_CPU_PCT)


def test_every_level_of_the_fixture_has_resources(tidy: pd.DataFrame) -> None:
    assert len(tidy) == 4  # the primer is not a level
    assert (tidy["resource_samples"] >= 2).all()
    # The fixture's run has no balancer: its column is the one unknown.
    assert tidy[[c for c in LEVEL_COLUMNS if c != "lb_cpu_pct"]].notna().all().all()
    assert tidy["lb_cpu_pct"].isna().all()


def _samples(host: str, tier: str, busy_pct: float, iowait: float = 0.0, n: int = 5) -> list[dict[str, Any]]:
    return [
        {
            "host": host,
            "tier": tier,
            "time_ms": 10_000 + 1000 * i,
            "cpu_user_pct": busy_pct,
            "cpu_system_pct": 0.0,
            "cpu_iowait_pct": iowait,
            "cpu_idle_pct": 100.0 - busy_pct - iowait,
            "cores": 4,
            "interval_s": 1.0,
        }
        for i in range(1, n + 1)
    ]


def _one_level(client: str = "c1") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "framework": ["f", "f"],
            "test_type": ["json", "json"],
            "level": [16, 16],
            "repeat": [1, 1],
            "client": [client, "c2"],
            "start_ms": [10_000, 10_000],
            "end_ms": [16_000, 16_000],
            "requestsPerSecond": [3000.0, 1000.0],
        }
    )


@pytest.mark.parametrize(
    ("client_busy", "db_busy", "db_iowait", "saturated", "bound"),
    [
        (CLIENT_SATURATED_CPU_PCT, DB_BOUND_CPU_PCT, 0.0, True, True),
        (CLIENT_SATURATED_CPU_PCT - 0.1, DB_BOUND_CPU_PCT - 0.1, 0.0, False, False),
        (10.0, 10.0, DB_BOUND_IOWAIT_PCT, False, True),
    ],
)
def test_flag_thresholds(
    client_busy: float, db_busy: float, db_iowait: float, saturated: bool, bound: bool
) -> None:
    samples = pd.DataFrame(
        _samples("c1", "client", client_busy)
        + _samples("c2", "client", 0.0)
        + _samples("app", "app", 50.0)
        + _samples("db", "db", db_busy, db_iowait)
    )
    hosts = {"db": ["db"], "app": ["app"], "client": ["c1", "c2"]}
    result = level_resources(_one_level(), samples, hosts)
    first = result.iloc[0]
    assert bool(first["client_saturated"]) is saturated
    assert bool(first["db_bound"]) is bound
    assert first["resource_samples"] == 5  # intervals ending at 11 s ... 15 s; 16 s ends after the level
    # app: 50 % of 4 cores = 2000 CPU-ms per second, for the 4000 requests per second of BOTH clients
    assert first["app_cpu_ms_per_1k_req"] == pytest.approx(2000 / 4000 * 1000)
    assert result.iloc[1]["client_cpu_pct"] == 0.0


def test_unknown_when_a_host_has_no_sample_in_the_window() -> None:
    samples = pd.DataFrame(_samples("app", "app", 50.0))
    result = level_resources(_one_level(), samples, {"db": ["db"], "app": ["app"], "client": ["c1"]})
    first = result.iloc[0]
    assert first["client_saturated"] is pd.NA and first["db_bound"] is pd.NA
    assert pd.isna(first["client_cpu_pct"]) and pd.isna(first["db_cpu_pct"])
    assert first["app_cpu_pct"] == 50.0


def test_local_time_sadf_output_is_rejected() -> None:
    stat = statistics_of("app1")[0][0]
    document = {
        "sysstat": {"hosts": [{"statistics": [{**stat, "timestamp": {**stat["timestamp"], "utc": 0}}]}]}
    }
    with pytest.raises(ResourceDataError, match="not UTC"):
        parse_sadf_json(document, "app1", "app", "seg", 0, "x.sa.json")
    with pytest.raises(ResourceDataError, match="not sadf -j output"):
        parse_sadf_json({"hello": 1}, "app1", "app", "seg", 0, "x.sa.json")


def test_gaps_are_warnings(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    for start in (run / "resources" / "raw" / "db1").glob("*.start.json"):
        start.unlink()
    (run / "resources" / "raw" / "app1" / "seg-9.sa.json").write_text("{not json")
    (run / "resources" / "raw" / "app1" / "seg-8.sa").write_bytes(b"sadc data sadf could not read")
    hosts = {**HOSTS, "client": ["client1", "client2"]}
    loaded = load_resources(run, hosts)
    text = "\n".join(loaded.warnings)
    assert "seg-1795297828115.start.json: unreadable" in text and "known to 1 s only" in text
    assert "seg-9.sa.json: skipped" in text
    assert "seg-8.sa not converted by sadf (left out)" in text
    assert "host client2 (client): no resource samples" in text
    assert len(loaded.samples[loaded.samples["host"] == "db1"]) == len(statistics_of("db1"))
    assert "no resource samples" in load_resources(tmp_path, HOSTS).warnings[0]


def test_summarize_writes_the_resource_files_and_columns(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    assert main(["summarize", str(run)]) == 0
    samples = pd.read_csv(run / "resources" / "samples.csv")
    assert list(samples.columns) == list(SAMPLE_COLUMNS)
    assert set(samples["host"]) == {"db1", "app1", "client1"}
    assert list(pd.read_csv(run / "resources" / "cpu_per_core.csv").columns) == list(PER_CORE_COLUMNS)
    tidy = pd.read_csv(run / "tidy.csv")
    required = ["requestsPerSecond", "p50_ms", "p90_ms", "p99_ms", "p999_ms", "app_cpu_pct", "db_cpu_pct"]
    required += ["client_cpu_pct", "client_saturated", "db_bound", "app_cpu_ms_per_1k_req"]
    assert tidy[required].notna().all().all()
    summary = pd.read_csv(run / "summary.csv")
    assert summary["app_cpu_pct"].notna().all() and (summary["repeats"] == 2).all()


@pytest.fixture
def sadc_installed() -> None:
    if shutil.which("sadf") is None:
        pytest.skip("sysstat is not installed (make test-deps installs it)")


def _sampler(*args: str) -> str:
    proc = subprocess.run([sys.executable, str(SAMPLER), *args], capture_output=True, text=True, check=True)
    return proc.stdout.strip()


@pytest.mark.usefixtures("sadc_installed")
def test_lab_sampler_start_stop_convert(tmp_path: Path) -> None:
    pidfile = tmp_path / "run" / "sampler.pid"
    record = json.loads(
        _sampler("start", "--dir", str(tmp_path / "data"), "--segment", "seg-1", "--pidfile", str(pidfile))
    )
    try:
        assert record["start_ms"] % 1000 == 500  # every sample half a second past a whole second
        assert int(pidfile.read_text()) == record["pid"]
        assert b"loop" in Path(f"/proc/{record['pid']}/cmdline").read_bytes().split(b"\0")
        time.sleep(max(record["start_ms"] / 1000 + 2.2 - time.time(), 0))  # the baseline and two samples
    finally:
        assert _sampler("stop", "--pidfile", str(pidfile)) == "stopped"
    assert not pidfile.exists()
    assert _sampler("stop", "--pidfile", str(pidfile)) == "not running"
    (tmp_path / "data" / "killed.sa").write_bytes(b"half a record")  # sadc killed mid-write
    converted = subprocess.run(
        [sys.executable, str(SAMPLER), "convert", "--dir", str(tmp_path / "data")],
        capture_output=True,
        text=True,
    )
    assert converted.returncode == 0 and converted.stdout.strip() == "converted 1"
    assert "killed.sa failed" in converted.stderr
    assert _sampler("convert", "--dir", str(tmp_path / "data")) == "converted 0"  # already up to date
    document = json.loads((tmp_path / "data" / "seg-1.sa.json").read_text())
    samples, per_core = parse_sadf_json(document, "h", "app", "seg-1", record["start_ms"] % 1000)
    assert len(samples) >= 2
    # the first sample ends one interval after the baseline, the others follow a second apart
    assert [row["time_ms"] for row in samples] == [
        record["start_ms"] + 1000 * (i + 1) for i in range(len(samples))
    ]
    assert {row["interval_s"] for row in samples} == {1.0}
    assert len(per_core) == len(samples) * samples[0]["cores"]
    with pytest.raises(subprocess.CalledProcessError):  # a segment is never overwritten
        _sampler("start", "--dir", str(tmp_path / "data"), "--segment", "seg-1", "--pidfile", str(pidfile))


def test_a_client_sharing_the_app_host_is_said_so() -> None:
    samples = pd.DataFrame(_samples("c1", "db+app+client", 95.0) + _samples("c2", "client", 10.0))
    hosts = {"db": ["c1"], "app": ["c1"], "client": ["c1", "c2"]}
    result = level_resources(_one_level(), samples, hosts)
    assert list(result["client_shares_host"]) == [True, False]
    assert list(result["client_saturated"]) == [True, False]
    assert result.iloc[0]["app_cpu_pct"] == result.iloc[0]["client_cpu_pct"] == 95.0


def test_flags_in_the_tables() -> None:
    base = {
        "test_type": "json", "level": 16, "repeat": 1, "client": "c1", "pipeline": 1, "duration_s": 10.0,
        "totalRequests": 1000, "requestsPerSecond": 100.0, "latencyAvg_ms": 1.0, "latencyMax_ms": 2.0,
        "p50_ms": 1.0, "p90_ms": 1.0, "p99_ms": 2.0, "p999_ms": 2.0, "errors_connect": 0, "errors_read": 0,
        "errors_write": 0, "errors_timeout": 0, "non2xx": 0, "app_cpu_pct": 95.0, "db_cpu_pct": 95.0,
        "db_iowait_pct": 0.0, "client_cpu_pct": 95.0, "app_cpu_ms_per_1k_req": 19.0, "resource_samples": 9,
    }  # fmt: skip
    rows = [
        {
            **base,
            "framework": "apart",
            "client_saturated": True,
            "db_bound": True,
            "client_shares_host": False,
        },
        {
            **base,
            "framework": "shared",
            "client_saturated": True,
            "db_bound": True,
            "client_shares_host": True,
        },
        {
            **base,
            "framework": "unknown",
            "client_saturated": pd.NA,
            "db_bound": pd.NA,
            "client_shares_host": False,
        },
    ]
    tidy = pd.DataFrame(rows).astype({"client_saturated": "boolean", "db_bound": "boolean"})
    flags = dict(zip(build_summary(tidy)["framework"], build_summary(tidy)["flags"], strict=True))
    assert flags == {
        "apart": "client saturated; db bound",
        "shared": "CPU saturated (wrk shares the host with the app/db)",
        "unknown": "",
    }


def test_the_balancer_and_each_app_host_are_sampled() -> None:
    samples = pd.DataFrame(
        _samples("c1", "client", 20.0)
        + _samples("a1", "app", 60.0)
        + _samples("a2", "app", 40.0)
        + _samples("b1", "lb", 15.0)
        + _samples("db", "db", 30.0)
    )
    hosts = {"db": ["db"], "app": ["a1", "a2"], "client": ["c1"], "lb": ["b1"]}
    first = level_resources(_one_level(), samples, hosts).iloc[0]
    assert first["lb_cpu_pct"] == 15.0
    assert first["app_cpu_pct"] == 50.0  # the mean of the app hosts
    # Both app hosts' CPU time: (60 % + 40 %) of 4 cores for the 4000 requests/s of both clients.
    assert first["app_cpu_ms_per_1k_req"] == pytest.approx((0.6 + 0.4) * 4000 / 4000 * 1000)
    assert host_tiers(hosts)["b1"] == "lb"
    # On the scale-out curve's first app host alone, a1's use is the app tier's: a2 idled by design.
    alone = level_resources(_one_level(), samples, hosts, {"f": 1}).iloc[0]
    assert alone["app_cpu_pct"] == 60.0
    assert alone["app_cpu_ms_per_1k_req"] == pytest.approx(0.6 * 4000 / 4000 * 1000)
