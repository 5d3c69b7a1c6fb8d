"""The targets a run measures: each framework of lab_frameworks on each engine of lab_db_engine, and with
lab_app_host_counts on each number of app hosts behind the balancer (the scale-out curve, issue 18).

roles/app_server names the app tier's targets (``app_server_targets`` among its exports: ``{name, framework,
engine}``, the framework's own name on the first engine, ``<framework>-<engine>`` on the others); this picks
those of the run's frameworks, in lab_frameworks order, so the benchmark, the run's record and the resume
check agree on one list. Each of the run's targets is ``{name, unit, framework, engine, app_hosts}``:

- ``unit``: the app tier's target it runs (what lab-appctl activates, whose configuration file it has);
- ``app_hosts``: how many app hosts serve it, the first ones of the app group behind the balancer;
- ``name``: the name of its records and raw output. Without app host counts it is the unit's; with them each
  unit is measured once per count, ``<unit>-x<N>`` on the first N app hosts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

# "flask-x2": flask on the first two app hosts.
SCALE_SUFFIX = "-x"


def lab_targets(
    app_targets: Sequence[Mapping[str, str]],
    frameworks: Sequence[str],
    app_hosts: int = 1,
    app_host_counts: Sequence[int] = (),
) -> list[dict[str, Any]]:
    units = [
        dict(target) for framework in frameworks for target in app_targets if target["framework"] == framework
    ]
    missing = [framework for framework in frameworks if not any(t["framework"] == framework for t in units)]
    if missing:
        deployed = sorted({str(target["framework"]) for target in app_targets})
        raise ValueError(
            f"lab_targets: the app tier exports no target of {', '.join(missing)} (it has"
            f" {', '.join(deployed) or 'none'}); run the app tier's exports (roles/app_server, tasks_from:"
            " exports)"
        )
    if not app_host_counts:
        return [{**unit, "unit": unit["name"], "app_hosts": int(app_hosts)} for unit in units]
    return [
        {
            **unit,
            "name": f"{unit['name']}{SCALE_SUFFIX}{int(count)}",
            "unit": unit["name"],
            "app_hosts": int(count),
        }
        for unit in units
        for count in app_host_counts
    ]


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"lab_targets": lab_targets}
