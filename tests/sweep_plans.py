"""A sweep's plan (labcore.sweep.plan) of the json type on this machine, as the tests run it for real."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from labcore import sweep, test_types

REPO = Path(__file__).resolve().parents[1]


def local_plan(
    run_dir: Path,
    base_url: str,
    settings: Mapping[str, Any],
    *,
    framework: str = "hello",
    client: str = "here",
    **changes: Any,
) -> dict[str, Any]:
    """The json sweep of one framework against base_url, with the repository's scripts; its run id is the
    run directory's name. changes: any other argument of sweep.plan (t0_ms, sweep_id, clients, k6...)."""
    return sweep.plan(
        specs=test_types.specs(),
        settings=settings,
        test_type="json",
        framework=framework,
        frameworks=[framework],
        framework_index=0,
        types=["json"],
        all_types=["json"],
        ceiling=False,
        run_id=run_dir.name,
        client=client,
        run_dir=str(run_dir),
        scripts_dir=str(REPO / "wrk_scripts"),
        python=sys.executable,
        base_url=base_url,
        host_header="127.0.0.1",
        vcpus=1,
        wrk_timeout_s=2,
        pause_s=0,
        **changes,
    )
