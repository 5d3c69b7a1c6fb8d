"""The real playbooks over SSH against separate hosts: network namespaces on one machine (netns_lab.py).

One session-wide lab shaped like a cloud: labdb, labapp, labclient1 and labclient2, each a network namespace
with its own sshd and hostname. The controller reaches them over SSH only, on the management bridge labmgmt0
(10.213.0.0/24, the controller at 10.213.0.1); the tiers talk over the lab bridge labnet0 (10.213.1.0/24 and
fd13:213:1::/64), which the controller cannot reach at all, through per-host packet filters that open exactly
the lab's port table. A CONNECT proxy on the controller's management address lets pip in the namespaces reach
PyPI (lab_package_proxy). Everything is torn down (processes by PID and namespace, namespaces, veths, bridges,
routes, the hosts' files) when the session ends, also when a test failed; ``python -m
tests.multihost.netns_lab down --purge`` does the same by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jinja2
import pytest
import yaml

from ..labrun import MULTIHOST_LOCK
from . import netns_lab
from .netns_lab import CONTROLLER_ADDRESS, HOSTS, LAB_HOSTS, LAB_HOSTS_V6

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
LOG_DIR = REPO / ".pytest_cache" / "multihost-logs"
LOCK_FILE = MULTIHOST_LOCK
PROXY_PORT = 3128
PROXY_URL = f"http://{CONTROLLER_ADDRESS}:{PROXY_PORT}"
PYPI_HOSTS = ("pypi.org:443", "files.pythonhosted.org:443")
# Besides what the roles install (role_packages()): the lab's own sshd, ip and packet filter, and libfaketime
# for a host whose clock is off (test_preflight.py).
LAB_PACKAGES = ("openssh-server", "iproute2", "nftables", "libfaketime")

# Tiny sweeps, as in tests/e2e: every phase of the real sequence runs, each for a second.
TINY: dict[str, object] = {
    "lab_duration_s": 1,
    "lab_primer_duration_s": 1,
    "lab_warmup_duration_s": 1,
    "lab_pause_s": 0,
    "lab_concurrency_levels": [8, 32],
    "lab_pipeline_concurrency_levels": [32],
    "lab_query_levels": [1, 5],
    # The nginx ceiling is the e2e tests' business; here it would only add minutes.
    "lab_ceiling": False,
}
# Both verified and benchmarked over the firewalled lab network (the done-when of the real topology).
FRAMEWORKS = ["aiohttp", "flask"]


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    seconds: float

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counters per host, e.g. {"labdb": {"ok": 30, "changed": 0, ...}}."""
        hosts: dict[str, dict[str, int]] = {}
        for line in self.output.split("PLAY RECAP", 1)[-1].splitlines():
            fields = line.split(":", 1)
            if len(fields) == 2 and "ok=" in fields[1]:
                pairs = (item.split("=") for item in fields[1].split())
                hosts[fields[0].strip()] = {k: int(v) for k, v in pairs}
        return hosts


@dataclass
class MultiHostLab:
    lab: netns_lab.Lab
    work_dir: Path

    def inventory(
        self, name: str, groups: dict[str, list[str]], ipv6: bool = False, **host_vars: dict[str, object]
    ) -> Path:
        """Write an inventory of lab hosts over SSH (groups: db, app, client -> host names): SSH on each
        host's management address, the tiers on its lab address (IPv6 ones with ``ipv6``)."""
        children = {
            group: {"hosts": {host: self._host_vars(host, ipv6, host_vars.get(host, {})) for host in hosts}}
            for group, hosts in groups.items()
        }
        inventory = {
            "all": {
                "vars": {
                    "ansible_user": "root",
                    "ansible_ssh_private_key_file": str(self.lab.private_key),
                    # Throwaway host keys: a new lab has new keys every time.
                    "ansible_ssh_common_args": (
                        "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
                    ),
                    "ansible_python_interpreter": "/usr/bin/python3",
                },
                "children": children,
            }
        }
        path = self.work_dir / f"{name}.yml"
        path.write_text(yaml.safe_dump(inventory, sort_keys=False))
        return path

    @staticmethod
    def _host_vars(host: str, ipv6: bool, extra: dict[str, object]) -> dict[str, object]:
        # Host vars, not inventory group vars: the top-level group_vars/all would win over the latter.
        return {
            "ansible_host": HOSTS[host],
            "lab_address": (LAB_HOSTS_V6 if ipv6 else LAB_HOSTS)[host],
            "lab_package_proxy": PROXY_URL,
            **extra,
        }

    def run(
        self, inventory: Path, playbook: str, *args: str, extra: dict[str, object] | None = None
    ) -> PlaybookRun:
        started = time.monotonic()
        proc = subprocess.run(
            self._command(inventory, playbook, args, extra),
            cwd=REPO,
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        output = proc.stdout + proc.stderr
        self._log(inventory, playbook).write_text(output)
        return PlaybookRun(proc.returncode, output, time.monotonic() - started)

    def start(
        self, inventory: Path, playbook: str, *args: str, extra: dict[str, object] | None = None
    ) -> tuple[subprocess.Popen[bytes], Path]:
        """Start a playbook in the background (to interrupt it); its output goes to the returned log."""
        log = self._log(inventory, playbook)
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                self._command(inventory, playbook, args, extra),
                cwd=REPO,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Its own process group: killing the controller kills its forked workers too.
                start_new_session=True,
            )
        return proc, log

    @staticmethod
    def _command(
        inventory: Path, playbook: str, args: tuple[str, ...], extra: dict[str, object] | None
    ) -> list[str]:
        cmd = [str(ANSIBLE_PLAYBOOK), "-i", str(inventory), f"playbooks/{playbook}", *args]
        return cmd + (["-e", json.dumps(extra)] if extra else [])

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.work_dir / "cp"),
            # Task timings in the saved logs: where the minutes of a slow run went.
            "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
        }

    @staticmethod
    def _log(inventory: Path, playbook: str) -> Path:
        # Every run's full log is kept: a failure deep in a play needs more than the assertion.
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        return LOG_DIR / f"{len(list(LOG_DIR.iterdir())):02d}-{inventory.stem}-{playbook}.log"

    @staticmethod
    def in_host(host: str, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command inside a lab host's network namespace."""
        return subprocess.run(
            ["ip", "netns", "exec", host, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )

    @classmethod
    def connect(cls, host: str, address: str, port: int, timeout_s: float = 3) -> str:
        """From inside a lab host, open a TCP connection: "open", or why it failed (as the OS says it)."""
        probe = (
            "import socket, sys\n"
            "address, port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])\n"
            "try:\n"
            "    socket.create_connection((address, port), timeout=timeout).close()\n"
            "    print('open')\n"
            "except OSError as e:\n"
            "    print(e)\n"
        )
        proc = cls.in_host(host, sys.executable, "-c", probe, address, str(port), str(timeout_s))
        return proc.stdout.strip() or proc.stderr.strip()


def role_packages() -> list[str]:
    """What the roles install with apt: the _<role>_packages of roles/*/vars/main.yml, for this distribution.

    The namespaces have no route to the mirrors, so these come from the root namespace before the lab is used.
    """
    release = {
        key: value.strip('"')
        for key, _, value in (
            line.partition("=") for line in Path("/etc/os-release").read_text().splitlines()
        )
    }
    # The name of the postgres role's per-distribution vars file, e.g. Debian-12 (ansible_facts' naming).
    distribution = f"{release['NAME'].split()[0]}-{release['VERSION_ID'].split('.')[0]}"
    packages: list[str] = []
    for vars_file in sorted(REPO.glob("roles/*/vars/main.yml")):
        role_vars = yaml.safe_load(vars_file.read_text()) or {}
        distro_file = vars_file.with_name(f"{distribution}.yml")
        if distro_file.is_file():
            role_vars.update(yaml.safe_load(distro_file.read_text()) or {})
        for key, value in role_vars.items():
            if key.endswith("_packages") and isinstance(value, list):
                packages += [jinja2.Template(str(item)).render(role_vars) for item in value]
    return sorted(set(packages))


def _missing_packages() -> list[str]:
    wanted = [*role_packages(), *LAB_PACKAGES]
    proc = subprocess.run(
        ["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\n", *wanted],
        capture_output=True,
        text=True,
        check=False,
    )
    installed = {line.split()[0] for line in proc.stdout.splitlines() if line.endswith(" installed")}
    return [p for p in wanted if p not in installed]


def _install_packages() -> None:
    missing = _missing_packages()
    if not missing:
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for argv in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, timeout=900)
        assert proc.returncode == 0, f"{' '.join(argv)}: {proc.stderr[-2000:]}"


def wait_for_listener(address: str, port: int, timeout_s: float = 10, host: str | None = None) -> None:
    """Wait until something accepts TCP connections on address:port: the controller's own address, or (with
    ``host``) an address of that lab host, connected to from inside it (the controller cannot reach it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        if host is not None:
            if MultiHostLab.connect(host, address, port, timeout_s=1) == "open":
                return
        else:
            try:
                socket.create_connection((address, port), timeout=1).close()
                return
            except OSError:
                pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing accepts connections on {address}:{port} after {timeout_s:.0f} s")
        time.sleep(0.1)


def _keep_logs(state_dir: Path) -> None:
    """Copy the sshd and proxy logs beside the playbook logs: teardown removes the state directory."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for log in (*state_dir.glob("*/sshd.log"), state_dir / "proxy.log"):
        if log.is_file():
            name = f"{log.parent.name}-{log.name}" if log.name == "sshd.log" else log.name
            shutil.copyfile(log, LOG_DIR / name)


def _start_proxy(state_dir: Path) -> subprocess.Popen[bytes]:
    allow = [arg for host in PYPI_HOSTS for arg in ("--allow", host)]
    proxy = subprocess.Popen(
        [
            *(sys.executable, "-m", "tests.multihost.connect_proxy"),
            *("--listen", f"{CONTROLLER_ADDRESS}:{PROXY_PORT}", *allow),
            *("--pidfile", str(state_dir / "proxy.pid"), "--log", str(state_dir / "proxy.log")),
        ],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
    )
    try:
        wait_for_listener(CONTROLLER_ADDRESS, PROXY_PORT)
    except OSError:
        proxy.kill()
        raise
    return proxy


# Modules that must run after all others, in this order. The balancer's module adds two app hosts to the
# database's pg_hba and leaves their pools connected: before it, the three-host module's second provisioning
# and its "only labapp reaches Postgres" check would see them. test_teardown.py takes the lab away from every
# host, the balancer's ones included.
LAST_MODULES = ("test_load_balancer.py", "test_teardown.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run LAST_MODULES at the end, in their order, whatever else was collected (a stable sort)."""
    rank = {Path(__file__).with_name(name): i + 1 for i, name in enumerate(LAST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path, 0))


@contextlib.contextmanager
def multihost_lab(work_dir: Path) -> Iterator[MultiHostLab]:
    """The namespace lab with its package proxy, torn down (purged) when the block ends, whatever happened;
    the test session's and tests/multihost/scale_out.py's."""
    _install_packages()
    problems = netns_lab.missing_prerequisites()
    assert not problems, problems
    # One lab per machine (fixed names and addresses): a second session waits for the first.
    with open(LOCK_FILE, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            netns_lab.down(purge=True)  # a clean first provisioning, whatever an earlier run left
            lab = netns_lab.up()
            proxy = _start_proxy(lab.state_dir)
            try:
                yield MultiHostLab(lab, work_dir)
            finally:
                proxy.terminate()
                proxy.wait(timeout=10)
                _keep_logs(lab.state_dir)
        finally:
            netns_lab.down(purge=True)


@pytest.fixture(scope="session")
def mh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MultiHostLab]:
    if os.geteuid() != 0:
        pytest.skip("the multi-host lab needs root (network namespaces, a bridge, one sshd per host)")
    if shutil.which("ip") is None:
        pytest.skip("the multi-host lab needs `ip` (apt-get install iproute2)")
    with multihost_lab(tmp_path_factory.mktemp("multihost")) as lab:
        yield lab


@pytest.fixture(scope="session")
def three_host_inventory(mh: MultiHostLab) -> Path:
    return mh.inventory("three-hosts", {"db": ["labdb"], "app": ["labapp"], "client": ["labclient1"]})


@pytest.fixture(scope="session")
def provisioned(mh: MultiHostLab, three_host_inventory: Path) -> PlaybookRun:
    """The first provisioning of db, app and one client, over SSH."""
    run = mh.run(three_host_inventory, "site.yml", extra={"lab_frameworks": FRAMEWORKS})
    assert run.returncode == 0, run.output[-6000:]
    return run
