"""The hardware ceiling: nginx's own /ceiling/json and /ceiling/plaintext (the locations of the app tier's
real nginx template, served by a real nginx) and the ceiling fraction of the analysis."""

from __future__ import annotations

import http.client
import math
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from analysis.ceiling import CEILING_FRAMEWORK, CEILING_TYPES
from analysis.tables import build_summary, render_tables
from labkit.processes import free_port, serving_nginx

from .conftest import REPO

CEILING_VARS = yaml.safe_load((REPO / "playbooks" / "vars" / "ceiling.yml").read_text())
TEMPLATE = (REPO / "roles" / "app_server" / "templates" / "nginx.conf.j2").read_text()


def test_playbooks_and_analysis_agree_on_the_ceiling() -> None:
    assert CEILING_VARS["__lab_ceiling_framework"] == CEILING_FRAMEWORK
    assert sorted(CEILING_VARS["__lab_ceiling_expected"]) == sorted(CEILING_TYPES)
    # docs/test-types.md §2.2 "The six types": the exact bodies of /json and /plaintext
    assert CEILING_VARS["__lab_ceiling_expected"]["plaintext"]["body"] == "Hello, World!"
    assert CEILING_VARS["__lab_ceiling_expected"]["json"]["body"] == '{"message":"Hello, World!"}'


@pytest.fixture
def ceiling_nginx(tmp_path: Path) -> Iterator[int]:
    """A throwaway nginx with the ceiling locations copied verbatim from the app tier's template."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (make test-deps installs it)")
    locations = re.findall(r"^ *location = /ceiling/\w+ \{.*?^ *\}$", TEMPLATE, re.MULTILINE | re.DOTALL)
    assert len(locations) == 2, "nginx.conf.j2 must have the two ceiling locations"
    port = free_port()
    temp = " ".join(
        f"{kind}_temp_path {tmp_path};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"daemon off; worker_processes 1; pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log warn;\n"
        f"events {{ worker_connections 64; }}\n"
        f"http {{ access_log off; {temp}\n"
        f"server {{ listen 127.0.0.1:{port}; {chr(10).join(locations)} }} }}\n"
    )
    with serving_nginx(str(tmp_path / "nginx.conf"), port, str(tmp_path / "error.log")):
        yield port


@pytest.mark.parametrize("test_type", CEILING_TYPES)
def test_ceiling_answers_like_the_apps(ceiling_nginx: int, test_type: str) -> None:
    expected = CEILING_VARS["__lab_ceiling_expected"][test_type]
    conn = http.client.HTTPConnection("127.0.0.1", ceiling_nginx, timeout=5)
    conn.request("GET", f"/ceiling/{test_type}")
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200
    assert body == expected["body"].encode()
    assert response.getheader("Content-Type", "").startswith(expected["content_type"])
    assert response.getheader("Content-Length") == str(len(body))
    assert response.getheader("Server", "").startswith("nginx")
    assert response.getheader("Date")
    # keep-alive, like the apps behind nginx: a second request on the same connection
    conn.request("GET", f"/ceiling/{test_type}")
    assert conn.getresponse().read() == body
    conn.close()


def _tidy(rows: list[tuple[str, str, int, int, float]]) -> pd.DataFrame:
    records = []
    for framework, test_type, level, repeat, rps in rows:
        records.append(
            {
                "framework": framework, "test_type": test_type, "level": level, "repeat": repeat,
                "client": "c", "pipeline": 16 if test_type == "plaintext" else 1, "duration_s": 10.0,
                "totalRequests": int(rps * 10), "requestsPerSecond": rps, "latencyAvg_ms": 1.0,
                "latencyMax_ms": 2.0, "p50_ms": 1.0, "p90_ms": 1.5, "p99_ms": 2.0, "p999_ms": 2.0,
                "errors_connect": 0, "errors_read": 0, "errors_write": 0, "errors_timeout": 0, "non2xx": 0,
            }
        )  # fmt: skip
    return pd.DataFrame.from_records(records)


def test_ceiling_fraction_per_type_and_level() -> None:
    tidy = _tidy(
        [
            (CEILING_FRAMEWORK, "json", 16, 1, 1000.0),
            (CEILING_FRAMEWORK, "json", 16, 2, 1200.0),
            (CEILING_FRAMEWORK, "json", 16, 3, 1100.0),
            ("fw", "json", 16, 1, 250.0),
            ("fw", "json", 16, 2, 275.0),
            ("fw", "json", 16, 3, 300.0),
            ("fw", "json", 64, 1, 300.0),
            ("fw", "db", 16, 1, 50.0),
        ]
    )
    summary = build_summary(tidy)
    keys = zip(
        summary["framework"].tolist(), summary["test_type"].tolist(), summary["level"].tolist(), strict=True
    )
    fractions = dict(zip(keys, summary["ceiling_fraction"].astype(float).tolist(), strict=True))
    assert fractions[("fw", "json", 16)] == pytest.approx(275.0 / 1100.0)  # medians over repeats
    assert fractions[(CEILING_FRAMEWORK, "json", 16)] == pytest.approx(1.0)
    assert math.isnan(fractions[("fw", "json", 64)])  # no ceiling at that level
    assert math.isnan(fractions[("fw", "db", 16)])  # no ceiling for db
    text = render_tables(summary)
    json_block = text.split("== json: Sorted by requestsPerSecond")[1].split("==")[1]
    assert "ofCeiling" in json_block and "25.0%" in json_block
