"""Teardown on this machine (issue 14, point 3): `make teardown` takes the lab away and puts back what it
changed.

The machine is first torn down (whatever provisioned it), then given a state of its own the lab changes: the
distribution's nginx enabled and running, and kernel settings other than the lab's (a Debian workstation's
defaults). Provisioning records that state and changes it; `--check` names what the teardown would do and
changes nothing; the teardown leaves no process, listener, file, cluster or snippet of the lab, the nginx runs
and starts at boot again, the settings have their earlier values, and the client's results are kept on the
controller; a second teardown changes nothing. The machine's nginx is left as this test found it, and the lab
torn down: `make test` runs this suite last in its lane (a no-op provisioning after it would cost minutes for
nobody); `make lab` provisions again.

The distribution's nginx is the machine's: the multi-host lab's hosts (network namespaces of this machine)
stop and disable it when they are provisioned, so this test holds that lab's lock as well as the localhost
one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ..e2e.conftest import E2E_FRAMEWORKS, PlaybookRun, run_playbook
from ..labrun import HOST_ID, multihost_lock
from ..teardown_checks import LAB_DIRS, LAB_SYSCTLS, leftovers, sysctls, user_exists

RECORD = Path(f"/var/lib/lab-state/{HOST_ID}/before.json")
CLIENT_RESULTS = Path(f"/var/lib/lab/{HOST_ID}/results")
# A Debian 12 workstation's values, none of them the lab's (roles/lab_base, lab_base_sysctls).
SYSCTLS_BEFORE = {
    "net.core.somaxconn": "4096",
    "net.ipv4.tcp_max_syn_backlog": "1024",
    "net.ipv4.ip_local_port_range": "32768 60999",
    "net.ipv4.tcp_tw_reuse": "2",
    "net.core.netdev_max_backlog": "1000",
}
# What the lab listens on here: Postgres, MariaDB (once lab_db_engine=mysql was provisioned), nginx, the
# upstream service.
LAB_PORTS = (5432, 3306, 8080, 8091)
# A run on the client the controller has only half of: the teardown fetches the rest, and overwrites nothing.
RUN_ID = f"teardown-test-{os.getpid()}"
ONLY_ON_CLIENT = f"raw/aiohttp/json/{HOST_ID}/level-c8-r1.meta.json"
ON_BOTH = f"raw/aiohttp/json/{HOST_ID}/level-c8-r1.txt"


def _systemd() -> bool:
    """systemd runs this machine (what ansible's service_mgr fact checks first)."""
    return Path("/run/systemd/system").is_dir()


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=120, check=False)


def _nginx_enabled() -> bool:
    if _systemd():
        return _run("systemctl", "is-enabled", "nginx").stdout.strip() == "enabled"
    return bool(list(Path("/etc").glob("rc?.d/S??nginx")))


def _nginx_active() -> bool:
    return _run("service", "nginx", "status").returncode == 0


def _set_nginx(enabled: bool, active: bool) -> None:
    if _systemd():
        steps = [["systemctl", "enable" if enabled else "disable", "nginx"]]
    else:
        # As ansible.builtin.service does with update-rc.d: the links if there are none, then their direction.
        links = list(Path("/etc").glob("rc?.d/[SK]??nginx"))
        steps = [] if links else [["update-rc.d", "nginx", "defaults"]]
        steps.append(["update-rc.d", "nginx", "enable" if enabled else "disable"])
    steps.append(["service", "nginx", "start" if active else "stop"])
    for argv in steps:
        proc = _run(*argv)
        assert proc.returncode == 0, f"{' '.join(argv)}: {proc.stdout}{proc.stderr}"
    assert (_nginx_enabled(), _nginx_active()) == (enabled, active)


def _set_sysctls(values: dict[str, str]) -> None:
    for name, value in values.items():
        Path("/proc/sys", name.replace(".", "/")).write_text(value + "\n")


def _other_lab_hosts() -> set[str]:
    return {p.name for base in LAB_DIRS if Path(base).is_dir() for p in Path(base).iterdir()} - {HOST_ID}


def _plant_a_run(results: Path) -> None:
    for root, files in ((CLIENT_RESULTS / RUN_ID, (ONLY_ON_CLIENT, ON_BOTH)), (results / RUN_ID, (ON_BOTH,))):
        for name in files:
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text("on the client\n" if root.is_relative_to(CLIENT_RESULTS) else "kept\n")


def _listeners(port: int) -> str:
    return _run("ss", "-H", "-l", "-t", "-n", "-p", f"sport = :{port}").stdout.strip()


def _assert_ok(run: PlaybookRun) -> PlaybookRun:
    assert run.returncode == 0, run.output[-6000:]
    return run


@dataclass
class Teardown:
    """What the sequence saw, step by step (each test checks one part of it)."""

    record: dict[str, object] = field(default_factory=dict)
    labapp_before: bool = False
    labapp_after: bool = False
    other_hosts_after: set[str] = field(default_factory=set)
    provisioned_nginx: tuple[bool, bool] = (False, False)
    provisioned_sysctls: dict[str, str | None] = field(default_factory=dict)
    check: PlaybookRun | None = None
    after_check_leftovers: list[str] = field(default_factory=list)
    after_check_nginx: tuple[bool, bool] = (False, False)
    after_check_sysctls: dict[str, str | None] = field(default_factory=dict)
    first: PlaybookRun | None = None
    leftovers: list[str] = field(default_factory=list)
    nginx: tuple[bool, bool] = (False, False)
    nginx_listens: str = ""
    lab_listeners: dict[int, str] = field(default_factory=dict)
    sysctls: dict[str, str | None] = field(default_factory=dict)
    second: PlaybookRun | None = None
    second_check: PlaybookRun | None = None


@pytest.fixture(scope="module")
def teardown(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Teardown, Path]]:
    if shutil.which("update-rc.d") is None and not _systemd():
        pytest.skip("not applicable here: neither systemd nor init scripts manage services")
    if not Path("/usr/sbin/nginx").exists():
        pytest.skip("the distribution's nginx is missing (make test-deps installs it)")
    results = tmp_path_factory.mktemp("teardown-results")
    extra: dict[str, object] = {"lab_results_dir": str(results)}
    seen = Teardown()
    with multihost_lock():
        nginx_found = (_nginx_enabled(), _nginx_active())
        try:
            _assert_ok(run_playbook("teardown.yml", extra=extra))  # whatever provisioned it, and however
            assert not leftovers(HOST_ID), leftovers(HOST_ID)
            held = _listeners(80)
            assert not held or _nginx_active(), f"the distribution's nginx cannot have port 80: {held}"
            _set_nginx(enabled=True, active=True)
            _set_sysctls(SYSCTLS_BEFORE)
            seen.labapp_before = user_exists("labapp")

            _assert_ok(run_playbook("site.yml", extra={"lab_frameworks": E2E_FRAMEWORKS}))
            seen.record = json.loads(RECORD.read_text())
            seen.provisioned_nginx = (_nginx_enabled(), _nginx_active())
            seen.provisioned_sysctls = sysctls(list(SYSCTLS_BEFORE))

            seen.check = _assert_ok(run_playbook("teardown.yml", "--check", extra=extra))
            seen.after_check_leftovers = leftovers(HOST_ID)
            seen.after_check_nginx = (_nginx_enabled(), _nginx_active())
            seen.after_check_sysctls = sysctls(list(SYSCTLS_BEFORE))

            _plant_a_run(results)
            seen.first = _assert_ok(run_playbook("teardown.yml", extra=extra))
            seen.leftovers = leftovers(HOST_ID)
            seen.labapp_after = user_exists("labapp")
            seen.other_hosts_after = _other_lab_hosts()
            seen.nginx = (_nginx_enabled(), _nginx_active())
            seen.nginx_listens = _listeners(80)
            seen.lab_listeners = {port: _listeners(port) for port in LAB_PORTS}
            seen.sysctls = sysctls(list(SYSCTLS_BEFORE))

            seen.second = _assert_ok(run_playbook("teardown.yml", extra=extra))
            seen.second_check = _assert_ok(run_playbook("teardown.yml", "--check", extra=extra))
            yield seen, results
        finally:
            _set_nginx(*nginx_found)


def test_provisioning_recorded_the_state_before_it_and_changed_it(teardown: tuple[Teardown, Path]) -> None:
    seen, _ = teardown
    sections = seen.record["sections"]
    assert isinstance(sections, dict)
    assert set(sections) == {"lab_base", "postgres", "supervisor", "app_server", "wrk_client"}
    assert all(section["lab_was_here"] == [] for section in sections.values()), sections
    assert sections["lab_base"]["sysctls"] == SYSCTLS_BEFORE
    nginx = {"installed": True, "enabled": True, "active": True}
    assert sections["app_server"]["services"] == {"nginx": nginx}
    assert sections["app_server"]["users"] == {"labapp": seen.labapp_before}
    # The lab stopped and disabled the distribution's nginx, and set its own kernel settings.
    assert seen.provisioned_nginx == (False, False)
    assert seen.provisioned_sysctls == LAB_SYSCTLS


def test_check_mode_shows_what_would_go_and_changes_nothing(teardown: tuple[Teardown, Path]) -> None:
    seen, _ = teardown
    assert seen.check is not None
    assert seen.check.recap()["localhost"]["changed"] > 0
    items = ("/opt/lab/localhost/venvs/supervisor", "/etc/lab/localhost/supervisord.conf", "15/lab_localhost")
    for item in items:
        assert f"changed: [localhost] => (item={item}" in seen.check.output, item
    assert any(item.startswith("process ") for item in seen.after_check_leftovers), seen.after_check_leftovers
    assert any(item.startswith("cluster ") for item in seen.after_check_leftovers), seen.after_check_leftovers
    assert "path /var/lib/lab-state/localhost" in seen.after_check_leftovers
    assert seen.after_check_nginx == (False, False)
    assert seen.after_check_sysctls == LAB_SYSCTLS


def test_nothing_of_the_lab_is_left(teardown: tuple[Teardown, Path]) -> None:
    seen, _ = teardown
    assert seen.first is not None and seen.first.recap()["localhost"]["failed"] == 0
    assert seen.leftovers == []
    assert seen.lab_listeners == dict.fromkeys(LAB_PORTS, ""), seen.lab_listeners
    assert not Path("/etc/security/limits.d/60-lab-localhost.conf").exists()


def test_the_distribution_nginx_runs_and_starts_at_boot_again(teardown: tuple[Teardown, Path]) -> None:
    seen, _ = teardown
    assert seen.nginx == (True, True)
    assert "nginx" in seen.nginx_listens, seen.nginx_listens


def test_kernel_settings_have_their_earlier_values(teardown: tuple[Teardown, Path]) -> None:
    seen, _ = teardown
    assert seen.sysctls == SYSCTLS_BEFORE


def test_the_app_user_goes_only_if_the_lab_created_it_and_no_other_lab_host_is_here(
    teardown: tuple[Teardown, Path],
) -> None:
    seen, _ = teardown
    assert seen.labapp_after == (seen.labapp_before or bool(seen.other_hosts_after)), seen.other_hosts_after


def test_what_only_the_client_held_is_kept_on_the_controller(teardown: tuple[Teardown, Path]) -> None:
    _, results = teardown
    assert (results / RUN_ID / ONLY_ON_CLIENT).read_text() == "on the client\n"
    assert (results / RUN_ID / ON_BOTH).read_text() == "kept\n"  # the controller's copy, not overwritten


def test_a_second_teardown_changes_nothing(teardown: tuple[Teardown, Path]) -> None:
    seen, _ = teardown
    assert seen.second is not None and seen.second_check is not None
    assert seen.second.recap()["localhost"]["changed"] == 0, seen.second.output[-6000:]
    assert seen.second_check.recap()["localhost"]["changed"] == 0, seen.second_check.output[-6000:]
