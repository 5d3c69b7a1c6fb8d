"""The record of one benchmarked framework, ``<run dir>/frameworks/<framework>.json``, and of the ceiling.

Built on the controller (the benchmark role's ``benchmark_framework_record`` filter) after the framework's
sweeps: its status, the reason it failed, the grade of each test type, the events of the run that concern it
and the metadata results.json carries (analysis/tfb.py). The hardware ceiling (nginx answering /json and
/plaintext itself) is recorded by the same function with ``ceiling_path`` set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# Where the ceiling's answers come from, named in its reason when they are wrong.
CEILING_TEMPLATE = "roles/app_server/templates/nginx.conf.j2"


def run_events(run_dir: str | Path, framework: str) -> list[dict[str, Any]]:
    """The events of the run (events.jsonl) that concern ``framework``, in order."""
    try:
        text = (Path(run_dir) / "events.jsonl").read_text(encoding="utf-8")
    except OSError:
        return []
    events = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [event for event in events if event.get("framework") == framework]


def framework_record(
    framework: str,
    *,
    swept_types: Sequence[str],
    verify: Mapping[str, str] | None,
    test_types: Sequence[str],
    run_dir: str | Path,
    manifest: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | None = None,
    start_errors: Sequence[str] = (),
    verify_reason: str = "",
    db_mode: str = "raw",
    db_engine: str = "postgres",
    app: str | None = None,
    app_hosts: int | None = None,
    ceiling_path: str | None = None,
) -> dict[str, Any]:
    """The record of ``framework`` (or of the ceiling, with ``ceiling_path``).

    framework: the name in the run, a framework on an engine (``flask``, or ``flask-mysql`` on a run's second
    engine); app: the framework itself, apps/<app> (default: ``framework``).

    swept_types: the types that passed verification (benchmarked). verify: the grade of each type (None: the
    framework never got to verification, so every type of ``test_types`` failed). manifest: apps/<fw>/lab.yml.
    app_hosts: how many app hosts served it (the first ones behind the balancer; None: not recorded).
    config: the effective server configuration roles/app_server wrote when it deployed the framework (None:
    deployed before that file existed, so unknown, never guessed). start_errors: why the app did not start.
    """
    if ceiling_path is not None:
        return _ceiling_record(
            framework, swept_types=swept_types, verify=verify or {}, ceiling_path=ceiling_path
        )
    manifest = manifest or {}
    config = config or {}
    events = run_events(run_dir, framework)
    # When the app could not start, the unreachable database is already the first of its start errors.
    db_reasons = (
        []
        if start_errors
        else [event["message"] for event in events if event.get("event") == "database_unreachable"]
    )
    # An unreachable database comes first: the verification failures it causes only show its effect.
    reasons = [*db_reasons, "\n".join(start_errors) or verify_reason or ""]
    return {
        "framework": framework,
        # Failed: it did not start, or no type passed verification (nothing to benchmark).
        "status": "failed" if start_errors or not swept_types else "ok",
        "reason": "\n".join(reason for reason in reasons if reason),
        "verify": dict(verify) if verify is not None else dict.fromkeys(test_types, "fail"),
        "events": events,
        "metadata": {
            "name": framework,
            # The label of the analysis tables, e.g. "flask [gunicorn gevent, 4 workers, raw, nginx]".
            "display_name": config.get("label", f"{framework} [configuration unknown]"),
            "framework": config.get("framework", app or framework),
            "language": "Python",
            "orm": "Raw" if db_mode == "raw" else "Full",
            "platform": manifest.get("platform", ""),
            "webserver": "nginx" if config.get("nginx", True) else "None",
            # The engine the app was deployed against (lab_db_engine): postgres or mysql.
            "database": config.get("db_engine", db_engine),
            "os": "Linux",
            "database_os": "Linux",
            "approach": "Realistic",
            "classification": manifest.get("classification", "Micro"),
            "notes": str(manifest.get("notes", "")).strip(),
            "versus": "",
            "tags": [],
            "server": config.get("server", ""),
            "worker_class": config.get("worker_class", ""),
            "gunicorn_worker_class": config.get("gunicorn_worker_class"),
            "workers": config.get("workers"),
            "threads": config.get("threads"),
            "db_pool_size": config.get("db_pool_size"),
            "db_mode": config.get("db_mode", db_mode),
            "db_engine": config.get("db_engine", db_engine),
            "nginx": config.get("nginx"),
            # The scale-out curve's N (analysis/scaleout.py): the app hosts that served the target.
            "app_hosts": int(app_hosts) if app_hosts is not None else None,
        },
    }


def _ceiling_record(
    framework: str, *, swept_types: Sequence[str], verify: Mapping[str, str], ceiling_path: str
) -> dict[str, Any]:
    failed = [test_type for test_type, grade in verify.items() if grade != "pass"]
    reason = (
        f"nginx does not answer {', '.join(ceiling_path + '/' + t for t in failed)}"
        " with the bytes of the apps"
        f" ({CEILING_TEMPLATE})"
        if failed
        else ""
    )
    return {
        "framework": framework,
        "status": "ok" if swept_types else "failed",
        "reason": reason,
        "verify": dict(verify),
        "metadata": {
            "name": framework,
            "display_name": "nginx (static answers, the hardware ceiling)",
            "framework": "nginx",
            "language": "C",
            "orm": "Raw",
            "platform": "None",
            "webserver": "nginx",
            "database": "None",
            "os": "Linux",
            "database_os": "Linux",
            "approach": "Stripped",
            "classification": "Platform",
            "notes": (
                "The same bytes as /json and /plaintext, answered by nginx itself; the ceiling the frameworks"
                " are given as a fraction of."
            ),
            "versus": "",
            "tags": ["ceiling"],
            "server": "nginx",
            "worker_class": "",
            "workers": 0,
            "db_mode": "none",
            "nginx": True,
            "ceiling": True,
        },
    }


def ceiling_grades(
    answers: Sequence[Mapping[str, Any]], expected: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    """The ceiling's grade per type from the uri results (each with ``__benchmark_type``, status, content,
    content_type): pass for status 200, the exact body and the rules' Content-Type (charset optional)."""
    grades = {}
    for answer in answers:
        test_type = answer["__benchmark_type"]
        want = expected[test_type]
        ok = (
            answer.get("status", 0) == 200
            and answer.get("content", "") == want["body"]
            and str(answer.get("content_type", "")).startswith(want["content_type"])
        )
        grades[test_type] = "pass" if ok else "fail"
    return grades
