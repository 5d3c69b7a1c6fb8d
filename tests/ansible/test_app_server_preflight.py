"""roles/app_server checks its own settings when used without lab_settings (its tasks/preflight.yml).

Real ansible-playbook runs of tests/ansible/playbooks/app_server_preflight.yml against the repository's apps.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys

from ..labrun import ANSIBLE_PLAYBOOK, REPO, playbook_env

PLAYBOOK = REPO / "tests" / "ansible" / "playbooks" / "app_server_preflight.yml"


def _preflight(**values: object) -> subprocess.CompletedProcess[str]:
    # The role refuses to run without the generated secret: a throwaway one, made here.
    extra = {
        "app_server_db_password": secrets.token_urlsafe(24),
        "app_server_apps_src": str(REPO / "apps"),
        "ansible_python_interpreter": sys.executable,
    }
    return subprocess.run(
        [
            str(ANSIBLE_PLAYBOOK),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(PLAYBOOK),
            "-e",
            json.dumps(extra | values),
        ],
        cwd=REPO,
        env=playbook_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_settings_for_an_app_that_is_not_deployed_are_accepted() -> None:
    # Every app of apps/ may have settings, deployed or not: a sweep deploys them in turn.
    run = _preflight(
        app_server_frameworks=["flask"], app_server_framework_settings={"django": {"workers": 2}}
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "label: flask [gunicorn gthread" in run.stdout, run.stdout[-3000:]


def test_settings_for_an_app_that_does_not_exist_are_refused() -> None:
    run = _preflight(
        app_server_frameworks=["flask"], app_server_framework_settings={"bottle": {"workers": 2}}
    )
    assert run.returncode != 0
    assert "app_server_framework_settings" in run.stdout and "bottle" in run.stdout, run.stdout[-3000:]
    for known in ("aiohttp", "crax", "django", "fastapi", "flask"):
        assert known in run.stdout.split("bottle", 1)[1], run.stdout[-3000:]
