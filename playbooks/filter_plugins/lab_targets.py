"""The targets a run measures: each framework of lab_frameworks on each engine of lab_db_engine.

roles/app_server names the targets (``app_server_targets`` among its exports: ``{name, framework, engine}``,
the framework's own name on the first engine, ``<framework>-<engine>`` on the others); this picks those of the
run's frameworks, in lab_frameworks order, so the benchmark, the run's record and the resume check agree on
one list.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any


def lab_targets(app_targets: Sequence[Mapping[str, str]], frameworks: Sequence[str]) -> list[dict[str, str]]:
    chosen = [
        dict(target) for framework in frameworks for target in app_targets if target["framework"] == framework
    ]
    missing = [framework for framework in frameworks if not any(t["framework"] == framework for t in chosen)]
    if missing:
        deployed = sorted({str(target["framework"]) for target in app_targets})
        raise ValueError(
            f"lab_targets: the app tier exports no target of {', '.join(missing)} (it has"
            f" {', '.join(deployed) or 'none'}); run the app tier's exports (roles/app_server, tasks_from:"
            " exports)"
        )
    return chosen


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"lab_targets": lab_targets}
