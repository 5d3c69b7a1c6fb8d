"""playbooks/validate.yml refuses server matrix settings that do not fit the apps, naming the variable.

Real ansible-playbook runs (--check) of the first play of every playbook, like test_settings_validation.py:
an ASGI app on a sync worker, meinheld with an async app, a server a framework does not have, bad
per-framework settings. A sweep over all five frameworks with a different configuration each passes.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from .test_settings_validation import Bad, Run, assert_refused, run_validate

ALL_FRAMEWORKS = ["aiohttp", "crax", "django", "fastapi", "flask"]


def _vars(**values: object) -> str:
    return json.dumps(values)


BAD = [
    Bad(
        "asgi-app-on-a-sync-worker",
        (_vars(lab_frameworks=["flask", "fastapi"], app_server_worker_class="sync"),),
        ("app_server_worker_class=sync", "fastapi is an ASGI app", "allowed for fastapi: uvicorn"),
    ),
    Bad(
        "meinheld-with-an-async-app",
        (_vars(lab_frameworks=["aiohttp"], app_server_worker_class="meinheld"),),
        ("app_server_worker_class=meinheld", "aiohttp is an aiohttp app", "allowed for aiohttp: aiohttp"),
    ),
    Bad(
        "gevent-for-an-asgi-app-per-framework",
        (
            _vars(
                lab_frameworks=["fastapi"],
                app_server_framework_settings={"fastapi": {"worker_class": "gevent"}},
            ),
        ),
        ("app_server_framework_settings.fastapi.worker_class=gevent", "allowed for fastapi: uvicorn"),
    ),
    Bad(
        "uvicorn-server-for-a-wsgi-app",
        (_vars(lab_frameworks=["flask"], app_server_server="uvicorn"),),
        ("app_server_server=uvicorn", "flask", "allowed for flask: gunicorn"),
    ),
    Bad(
        "own-server-where-there-is-none",
        (_vars(lab_frameworks=["django"], app_server_framework_settings={"django": {"server": "own"}}),),
        ("app_server_framework_settings.django.server=own", "runserver", "allowed for django: gunicorn"),
    ),
    Bad(
        "unknown-worker-class",
        (_vars(app_server_worker_class="eventlet"),),
        ("app_server_worker_class='eventlet'", "sync, gthread, gevent", "meinheld", "uvicorn, aiohttp"),
    ),
    Bad(
        "unknown-server",
        (_vars(app_server_server="hypercorn"),),
        ("app_server_server='hypercorn'", "gunicorn, uvicorn, own"),
    ),
    Bad(
        "settings-for-a-framework-without-an-app",
        (_vars(app_server_framework_settings={"nosuch": {"workers": 2}}),),
        ("app_server_framework_settings", "nosuch", "aiohttp, crax"),
    ),
    Bad(
        "unknown-per-framework-setting",
        (_vars(app_server_framework_settings={"flask": {"color": "red"}}),),
        ("app_server_framework_settings.flask", "color", "worker_class"),
    ),
    Bad(
        "threads-without-gthread",
        (
            _vars(
                lab_frameworks=["flask"],
                app_server_framework_settings={"flask": {"worker_class": "sync", "threads": 4}},
            ),
        ),
        ("app_server_framework_settings.flask.threads=4", "gthread"),
    ),
    Bad("workers-not-a-number", ("app_server_workers=abc",), ("app_server_workers='abc'", "0..256")),
    Bad("nginx-not-a-boolean", ("app_server_nginx=maybe",), ("app_server_nginx='maybe'", "true", "false")),
]
SWEEP = "sweep-with-a-configuration-per-framework"
SWEEP_VARS = _vars(
    lab_frameworks=ALL_FRAMEWORKS,
    app_server_framework_settings={
        "aiohttp": {"server": "own", "nginx": False},
        "fastapi": {"server": "uvicorn", "workers": 3},
        "flask": {"worker_class": "gevent", "workers": 4},
        "django": {"worker_class": "meinheld"},
        "crax": {"db_pool_size": 16},
    },
)


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        futures = {bad.id: pool.submit(run_validate, *bad.extra_vars) for bad in BAD}
        futures[SWEEP] = pool.submit(run_validate, SWEEP_VARS)
        return {run_id: future.result() for run_id, future in futures.items()}


@pytest.mark.parametrize("bad", BAD, ids=[bad.id for bad in BAD])
def test_bad_combination_is_refused(runs: dict[str, Run], bad: Bad) -> None:
    assert_refused(runs[bad.id], bad.expected)


def test_sweep_with_a_configuration_per_framework_passes(runs: dict[str, Run]) -> None:
    run = runs[SWEEP]
    assert run.returncode == 0, run.output
    assert all(host["failures"] == 0 for host in run.stats.values()), run.stats
