"""The systemd unit roles/supervisor installs on hosts with systemd, checked with systemd's own verifier.

This machine has no systemd as PID 1, so the role starts supervisord as a daemon here; real VMs get the unit.
`systemd-analyze verify` needs no running systemd: it parses the unit as systemd would and checks that its
commands exist. The unit is rendered from the role's template with this host's paths, after provisioning, so
ExecStart names the real supervisord of the provisioned venv.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ..labrun import ANSIBLE_PLAYBOOK, REPO, PlaybookRun, playbook_env

PLAYBOOK = REPO / "tests" / "e2e" / "playbooks" / "render_systemd_unit.yml"


def test_the_supervisor_unit_passes_systemd_analyze_verify(provisioned: PlaybookRun, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is missing (Debian package systemd)")
    render = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), str(PLAYBOOK), "-e", json.dumps({"unit_dir": str(tmp_path)})],
        cwd=REPO, env=playbook_env(), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert render.returncode == 0, render.stdout[-3000:] + render.stderr[-2000:]
    units = list(tmp_path.glob("lab-supervisor-*.service"))
    assert len(units) == 1, units
    unit = units[0].read_text()
    assert "ExecStart=/opt/lab/localhost/venvs/supervisor/bin/supervisord --nodaemon" in unit, unit
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(units[0])],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    # A bad setting is only a warning on stderr (systemd ignores it); both must be clean.
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr
