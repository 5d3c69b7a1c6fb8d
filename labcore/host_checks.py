"""Each app host checked alone behind a balancer: its HTTP grades merged into the framework's.

With an `lb` group the verification goes through the balancer, which may send every check to the same app
host. Each app host then answers the HTTP checks alone (``verify http <its URL>``); a type that any app host
fails fails for the framework, named with the host, so one wrongly deployed app host cannot hide behind the
others.
The database-hit checks stay the balancer's (the counters are the database's, whichever host sent the query).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def merge_host_grades(
    grades: Mapping[str, str],
    swept: Sequence[str],
    reason: str,
    hosts: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """The framework's grades, swept types and reason once every app host's own checks are counted.

    grades: the balancer's grade of each verified type; swept: the types to benchmark; reason: why some
    failed. hosts: one per app host, ``{"host", "url", "rc", "stdout", "stderr"}`` of its ``verify http``
    call (stdout: ``{"grades": {type: grade}}``). A host whose call failed fails every type it was to check.
    """
    merged = dict(grades)
    reasons = [reason] if reason else []
    for host in hosts:
        name, url = str(host["host"]), str(host["url"])
        try:
            host_grades = json.loads(str(host.get("stdout") or ""))["grades"] if host["rc"] == 0 else None
        except (ValueError, KeyError, TypeError):
            host_grades = None
        if host_grades is None:
            why = str(host.get("stderr") or "").strip().splitlines()[-1:] or ["no answer"]
            failed = [t for t in grades if merged.get(t) != "fail"]
            reasons.append(f"app host {name} ({url}) could not be checked alone: {why[0]}")
        else:
            failed = [t for t in grades if host_grades.get(t) == "fail" and merged.get(t) != "fail"]
            if failed:
                reasons.append(
                    f"app host {name} ({url}) fails {', '.join(failed)} when checked alone"
                    f" (verify/<framework>/hosts/{name}.json)"
                )
        for test_type in failed:
            merged[test_type] = "fail"
    return {
        "grades": merged,
        "swept": [t for t in swept if merged.get(t, "pass") != "fail"],
        "reason": "\n".join(reasons),
    }
