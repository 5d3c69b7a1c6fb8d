"""A lab of separate hosts on one machine, shaped like a cloud: network namespaces on two bridges.

    python -m tests.multihost.netns_lab up [--state-dir DIR]      build it (tears down leftovers first)
    python -m tests.multihost.netns_lab down [--state-dir DIR] [--purge]

Each host is a network namespace named after its inventory host (labdb, labapp, labclient1, labclient2) with
two interfaces, as a cloud VM has:

- ``eth0`` on the management bridge ``labmgmt0`` (10.213.0.0/24). The controller (the root namespace) is
  10.213.0.1 there, and each host's sshd (its own config, host key and pidfile in the state directory, started
  under ``unshare --uts`` so that the host's hostname is its name) listens on the host's management address.
- ``eth1`` on the lab bridge ``labnet0`` (10.213.1.0/24 and fd13:213:1::/64): the hosts' lab addresses. The
  controller has no address there and no route to it: the root namespace holds an ``unreachable`` route for
  both lab prefixes, so a connection from the controller to a lab address fails at once and nothing is ever
  routed out of the machine. IPv6 is off on the root namespace's side of the lab bridge (no link-local path).

Each host runs a packet filter (nftables, table ``inet lab``) whose input policy is drop. It accepts loopback,
replies to the host's own connections, IPv6 neighbour discovery, SSH from the controller on ``eth0``, and on
``eth1`` exactly the lab's port table (playbooks/vars/network.yml: 5432 from the app host to the db host, 8080
from the client hosts to the app host, 8091 from the app host to itself) from the lab addresses of the tier
that needs it. Everything else is dropped, as a cloud's security groups do.

The namespaces have no route beyond the bridges: their packages must be installed beforehand, and pip reaches
PyPI only through the proxy the test fixture runs on 10.213.0.1.

``down`` works from names alone, so it also cleans up after a crashed run: every process in the lab's
namespaces is stopped by PID (Postgres with a fast shutdown, the others with SIGTERM, SIGKILL after a grace
period), then the namespaces, veths, bridges and the unreachable routes are deleted. ``--purge`` also removes
what provisioning left on the shared file system for these host ids (their /opt, /etc, /var/lib, /run and
/var/log lab directories, their Postgres cluster, sysctl, limits and tmpfiles snippets) and the state
directory (keys, sshd configs and logs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
MGMT_BRIDGE = "labmgmt0"
LAB_BRIDGE = "labnet0"
MGMT_IF = "eth0"
LAB_IF = "eth1"
PREFIX_LEN = 24
CONTROLLER_ADDRESS = "10.213.0.1"
MGMT_NETWORK = f"10.213.0.0/{PREFIX_LEN}"
LAB_NETWORK = f"10.213.1.0/{PREFIX_LEN}"
LAB_NETWORK_V6 = "fd13:213:1::/64"
# Management addresses: the controller's SSH and nothing else.
HOSTS: dict[str, str] = {
    "labdb": "10.213.0.10",
    "labapp": "10.213.0.11",
    # The balancer's suite (test_load_balancer.py): two more app hosts and the balancer.
    "labapp2": "10.213.0.12",
    "labapp3": "10.213.0.13",
    "labclient1": "10.213.0.21",
    "labclient2": "10.213.0.22",
    "lablb": "10.213.0.30",
}
# Lab addresses, IPv4 and IPv6: the tiers' traffic, unreachable from the controller.
LAB_HOSTS: dict[str, str] = {
    name: address.replace("10.213.0.", "10.213.1.") for name, address in HOSTS.items()
}
LAB_HOSTS_V6: dict[str, str] = {
    name: f"fd13:213:1::{address.rsplit('.', 1)[1]}" for name, address in HOSTS.items()
}
# The tier each host plays in the suite's inventories: its packet filter opens what that tier must accept.
TIERS: dict[str, str] = {
    "labdb": "db",
    "labapp": "app",
    "labapp2": "app",
    "labapp3": "app",
    "labclient1": "client",
    "labclient2": "client",
    "lablb": "lb",
}
NETWORK_PORTS_FILE = REPO / "playbooks" / "vars" / "network.yml"
DEFAULT_STATE_DIR = Path("/run/lab-netns")
SSHD = "/usr/sbin/sshd"
SFTP_SERVER = "/usr/lib/openssh/sftp-server"
NFT = "nft"
STOP_GRACE_S = 15.0
LAB_DIRS = ("/opt/lab", "/etc/lab", "/var/lib/lab", "/run/lab", "/var/log/lab")


class LabError(RuntimeError):
    """The lab cannot be built here (missing tool, busy address...)."""


@dataclass(frozen=True)
class LabHost:
    name: str
    address: str
    sshd_pid: int


@dataclass(frozen=True)
class Lab:
    state_dir: Path
    hosts: tuple[LabHost, ...]

    @property
    def private_key(self) -> Path:
        return self.state_dir / "id_ed25519"

    def address(self, name: str) -> str:
        return next(h.address for h in self.hosts if h.name == name)


@dataclass(frozen=True)
class PortRule:
    """One row of the lab's port table, with the port its knob has by default."""

    port_var: str
    port: int
    source: str  # tier that connects
    target: str  # tier that listens
    why: str


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise LabError(
            f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
        )
    return proc


def _veth(kind: str, name: str) -> str:
    return f"l{kind}-{name}"[:15]  # interface names are at most 15 characters


def namespaces() -> set[str]:
    out = _run("ip", "netns", "list", check=False).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


def missing_prerequisites() -> list[str]:
    """What this machine lacks to build the lab (empty when it can)."""
    problems = []
    if os.geteuid() != 0:
        problems.append("must run as root (network namespaces, bridges, sshd, packet filters)")
    for tool in ("ip", "unshare", "ssh", "ssh-keygen", SSHD, NFT):
        if shutil.which(tool) is None:
            problems.append(
                f"{tool} not found (apt-get install iproute2 util-linux openssh-client openssh-server"
                " nftables)"
            )
    return problems


# ---------------------------------------------------------------------------------------------------- ports
def _knob_default(name: str) -> int:
    """A port knob's value when nobody overrides it: group_vars/all first, then the role defaults."""
    for path in (
        *sorted((REPO / "group_vars" / "all").glob("*.yml")),
        *sorted(REPO.glob("roles/*/defaults/main.yml")),
    ):
        values = yaml.safe_load(path.read_text()) or {}
        if name in values:
            return int(values[name])
    raise LabError(
        f"{name} (in {NETWORK_PORTS_FILE.relative_to(REPO)}) has no default in group_vars or a role"
    )


def port_table() -> list[PortRule]:
    """The lab's port table (playbooks/vars/network.yml), each port resolved to its default."""
    rows = yaml.safe_load(NETWORK_PORTS_FILE.read_text())["lab_network_ports"]
    return [
        PortRule(row["port_var"], _knob_default(row["port_var"]), row["from"], row["to"], row["why"])
        for row in rows
    ]


def _hosts_of(tier: str, names: Sequence[str]) -> list[str]:
    # The suite's inventories have no upstream group: the app hosts serve the upstream (tiers.yml).
    tier = "app" if tier == "upstream" else tier
    return [n for n in names if TIERS[n] == tier]


def _join(items: Iterable[object]) -> str:
    return ", ".join(map(str, items))


def firewall_ruleset(name: str, names: Sequence[str], ssh_ports: Sequence[int] = (22,)) -> str:
    """One host's nftables ruleset: SSH from the controller, the port table on the lab network, no more."""
    lines = [
        "table inet lab {",
        "  chain input {",
        "    type filter hook input priority filter; policy drop;",
        '    iif "lo" accept',
        "    ct state established,related accept",
        # Without neighbour discovery no IPv6 packet finds its next hop.
        "    icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } accept",
        f'    iifname "{MGMT_IF}" ip saddr {CONTROLLER_ADDRESS} tcp dport {{ {_join(ssh_ports)} }} accept',
    ]
    for rule in port_table():
        if name not in _hosts_of(rule.target, names):
            continue
        sources = _hosts_of(rule.source, names)
        if not sources:
            continue
        v4 = _join(LAB_HOSTS[s] for s in sources)
        v6 = _join(LAB_HOSTS_V6[s] for s in sources)
        lines.append(
            f'    iifname "{LAB_IF}" ip saddr {{ {v4} }} tcp dport {rule.port} accept  # {rule.port_var}'
        )
        lines.append(
            f'    iifname "{LAB_IF}" ip6 saddr {{ {v6} }} tcp dport {rule.port} accept  # {rule.port_var}'
        )
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def _load_firewall(state_dir: Path, name: str, names: Sequence[str], ssh_ports: Sequence[int]) -> None:
    path = state_dir / name / "nftables.conf"
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Replaced as a whole: the table is deleted and rebuilt in one transaction.
    flush = "table inet lab\ndelete table inet lab\n"
    path.write_text(flush + firewall_ruleset(name, names, ssh_ports))
    _run("ip", "netns", "exec", name, NFT, "-f", str(path))


def open_ssh_port(lab: Lab, name: str, port: int) -> None:
    """Let the controller reach one more sshd of a host (start_second_sshd)."""
    ports = sorted({22, port, *_extra_ssh_ports(lab.state_dir, name)})
    (lab.state_dir / name / "ssh_ports").write_text(" ".join(map(str, ports)) + "\n")
    _load_firewall(lab.state_dir, name, [h.name for h in lab.hosts], ports)


def _extra_ssh_ports(state_dir: Path, name: str) -> list[int]:
    with contextlib.suppress(OSError):
        return [int(p) for p in (state_dir / name / "ssh_ports").read_text().split()]
    return []


# ---------------------------------------------------------------------------------------------------- network
def _route_to(address: str) -> str:
    proc = _run("ip", "-o", "route", "get", address, check=False)
    return (proc.stdout or proc.stderr).strip()


def _assert_network_free() -> None:
    """Refuse to start when something other than this lab already routes its networks."""
    for network, own in (
        (MGMT_NETWORK, f"dev {MGMT_BRIDGE}"),
        (LAB_NETWORK, "unreachable"),
        (LAB_NETWORK_V6, "unreachable"),
    ):
        family = "-6" if ":" in network else "-4"
        routes = _run(
            "ip", family, "-o", "route", "show", "table", "main", "to", "match", network, check=False
        ).stdout
        for line in routes.splitlines():
            if line.startswith("default") or own in line:
                continue
            raise LabError(
                f"{network} is already routed on this machine ({line.strip()}); pick another range"
            )


def assert_routed_over_bridge(address: str) -> None:
    """Management traffic must stay on the bridge: never let an address fall through to the default route."""
    route = _route_to(address)
    if f"dev {MGMT_BRIDGE}" not in route:
        raise LabError(f"{address} is not routed over {MGMT_BRIDGE} ({route}); refusing to send lab traffic")


def assert_unreachable_from_controller(address: str) -> None:
    """A lab address must have no route from the controller (the root namespace), never the default one."""
    route = _route_to(address)
    # An unreachable route makes `ip route get` fail with EHOSTUNREACH (IPv4) or ENETUNREACH (IPv6).
    if not any(word in route.lower() for word in ("unreachable", "no route to host")):
        raise LabError(f"{address} is routable from the controller ({route}); the lab network must not be")


def _block_lab_network() -> None:
    # Before any lab address exists: from here on the root namespace cannot reach them, or leak them outside.
    for family, network in (("-4", LAB_NETWORK), ("-6", LAB_NETWORK_V6)):
        _run("ip", family, "route", "replace", "unreachable", network)


def _unblock_lab_network() -> None:
    for family, network in (("-4", LAB_NETWORK), ("-6", LAB_NETWORK_V6)):
        _run("ip", family, "route", "del", "unreachable", network, check=False)


def _no_ipv6(interface: str) -> None:
    Path(f"/proc/sys/net/ipv6/conf/{interface}/disable_ipv6").write_text("1\n")


def _build_network(state_dir: Path, names: Sequence[str]) -> None:
    _assert_network_free()
    _block_lab_network()
    _run("ip", "link", "add", MGMT_BRIDGE, "type", "bridge")
    _run("ip", "addr", "add", f"{CONTROLLER_ADDRESS}/{PREFIX_LEN}", "dev", MGMT_BRIDGE)
    _run("ip", "link", "set", MGMT_BRIDGE, "up")
    _run("ip", "link", "add", LAB_BRIDGE, "type", "bridge")
    _no_ipv6(LAB_BRIDGE)  # no link-local address: the controller has no way at all onto the lab network
    _run("ip", "link", "set", LAB_BRIDGE, "up")
    for name in names:
        _run("ip", "netns", "add", name)
        # The packet filter is in place before the host has an address.
        _load_firewall(state_dir, name, names, [22])
        for kind, bridge, interface in (("m", MGMT_BRIDGE, MGMT_IF), ("l", LAB_BRIDGE, LAB_IF)):
            veth = _veth(kind, name)
            _run("ip", "link", "add", veth, "type", "veth", "peer", "name", interface, "netns", name)
            _no_ipv6(veth)
            _run("ip", "link", "set", veth, "master", bridge)
            _run("ip", "link", "set", veth, "up")
        _run("ip", "-n", name, "addr", "add", f"{HOSTS[name]}/{PREFIX_LEN}", "dev", MGMT_IF)
        _run("ip", "-n", name, "addr", "add", f"{LAB_HOSTS[name]}/{PREFIX_LEN}", "dev", LAB_IF)
        # nodad: usable at once (duplicate address detection would hold it "tentative" for a second or two).
        _run("ip", "-n", name, "addr", "add", f"{LAB_HOSTS_V6[name]}/64", "dev", LAB_IF, "nodad")
        _run("ip", "-n", name, "link", "set", "lo", "up")
        _run("ip", "-n", name, "link", "set", MGMT_IF, "up")
        _run("ip", "-n", name, "link", "set", LAB_IF, "up")
    for name in names:
        assert_routed_over_bridge(HOSTS[name])
        assert_unreachable_from_controller(LAB_HOSTS[name])
        assert_unreachable_from_controller(LAB_HOSTS_V6[name])


# ---------------------------------------------------------------------------------------------------- sshd
def _port_suffix(port: int) -> str:
    """What tells a host's second sshd's files (config, pidfiles) from its own sshd's, on port 22."""
    return "" if port == 22 else f".{port}"


def _sshd_config(state_dir: Path, name: str, port: int = 22, extra: Sequence[str] = ()) -> Path:
    host_dir = state_dir / name
    host_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    host_key = host_dir / "ssh_host_ed25519_key"
    if not host_key.exists():
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"host key of {name}", "-f", str(host_key))
    suffix = _port_suffix(port)
    config = host_dir / f"sshd_config{suffix}"
    config.write_text(
        "\n".join(
            [
                f"# sshd of the lab host {name}, inside its network namespace",
                f"ListenAddress {HOSTS[name]}",
                f"Port {port}",
                f"HostKey {host_key}",
                f"PidFile {host_dir / f'sshd{suffix}.pid'}",
                f"AuthorizedKeysFile {state_dir / 'authorized_keys'}",
                "PermitRootLogin prohibit-password",
                "PubkeyAuthentication yes",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "UsePAM no",
                "UseDNS no",
                "X11Forwarding no",
                "MaxSessions 50",
                "MaxStartups 50:30:100",
                f"Subsystem sftp {SFTP_SERVER}",
                *extra,
                "",
            ]
        )
    )
    return config


def _client_key(state_dir: Path) -> Path:
    key = state_dir / "id_ed25519"
    if not key.exists():
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "lab controller", "-f", str(key))
    authorized = state_dir / "authorized_keys"
    authorized.write_text(key.with_suffix(".pub").read_text())
    authorized.chmod(0o600)
    return key


def _start_sshd(state_dir: Path, name: str, port: int = 22, extra: Sequence[str] = ()) -> int:
    config = _sshd_config(state_dir, name, port, extra)
    log = open(state_dir / name / "sshd.log", "ab")  # noqa: SIM115 - the child keeps it open
    # ip netns exec and unshare exec in place, and so does sh: the PID returned is sshd's own.
    proc = subprocess.Popen(
        [
            *("ip", "netns", "exec", name, "unshare", "--uts", "sh", "-c"),
            *(f'hostname "$0" && exec {SSHD} -D -e -f "$1"', name, str(config)),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    (state_dir / name / f"sshd.popen{_port_suffix(port)}.pid").write_text(f"{proc.pid}\n")
    return proc.pid


def start_second_sshd(lab: Lab, name: str, port: int, extra: Sequence[str]) -> int:
    """Another sshd for a lab host, on another port and with extra sshd_config lines (e.g. SetEnv): the same
    host seen differently over SSH. It is stopped with the host's other processes by ``down``."""
    if port == 22:
        raise LabError("port 22 is the host's own sshd")
    open_ssh_port(lab, name, port)
    pid = _start_sshd(lab.state_dir, name, port, extra)
    _wait_for_port(HOSTS[name], port, timeout_s=20)
    return pid


def _wait_for_port(address: str, port: int, timeout_s: float) -> None:
    assert_routed_over_bridge(address)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((address, port), timeout=1.0) as conn:
                if conn.recv(64).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise LabError(f"nothing answers SSH on {address}:{port} after {timeout_s:.0f}s")
        time.sleep(0.1)


# ---------------------------------------------------------------------------------------------------- up/down
def up(state_dir: Path = DEFAULT_STATE_DIR, names: Sequence[str] = tuple(HOSTS)) -> Lab:
    """Build the lab from scratch (leftovers of an earlier run are torn down first)."""
    problems = missing_prerequisites()
    if problems:
        raise LabError("; ".join(problems))
    unknown = [n for n in names if n not in HOSTS]
    if unknown:
        raise LabError(f"unknown lab hosts {unknown}; known: {sorted(HOSTS)}")
    down(state_dir)
    state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state_dir.chmod(0o700)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    try:
        _build_network(state_dir, names)
        _client_key(state_dir)
        pids = {name: _start_sshd(state_dir, name) for name in names}
        for name in names:
            _wait_for_port(HOSTS[name], 22, timeout_s=20)
    except BaseException:
        down(state_dir)
        raise
    lab = Lab(state_dir, tuple(LabHost(n, HOSTS[n], pids[n]) for n in names))
    (state_dir / "lab.json").write_text(
        json.dumps(
            {"bridges": [MGMT_BRIDGE, LAB_BRIDGE], "controller": CONTROLLER_ADDRESS, "hosts": pids}, indent=2
        )
        + "\n"
    )
    return lab


def _pids_in(namespace: str) -> list[int]:
    out = _run("ip", "netns", "pids", namespace, check=False).stdout
    return [int(p) for p in out.split() if p.isdigit()]


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _signal(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _alive(pids: Iterable[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        # A zombie is dead for our purpose; its parent (maybe us) reaps it.
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
        alive.append(pid)
    return alive


def stop_processes(namespace: str, grace_s: float = STOP_GRACE_S) -> list[int]:
    """Stop every process of one namespace by PID; returns the PIDs it had."""
    pids = _pids_in(namespace)
    if not pids:
        return []
    # A postmaster gets SIGINT (fast shutdown: it ends its backends and writes a checkpoint), its children are
    # left to it; every other process gets SIGTERM (supervisord stops nginx and the app, sshd its sessions).
    postgres = {p for p in pids if _comm(p) == "postgres"}
    postmasters = {p for p in postgres if _ppid(p) not in postgres}
    _signal(postmasters, signal.SIGINT)
    _signal([p for p in pids if p not in postgres], signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while _alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    # Whatever is left now (also what was started meanwhile) is killed.
    for _ in range(3):
        left = _alive(set(pids) | set(_pids_in(namespace)))
        if not left:
            break
        _signal(left, signal.SIGKILL)
        time.sleep(0.2)
    return pids


def _stop_proxy(state_dir: Path) -> None:
    pidfile = state_dir / "proxy.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    with contextlib.suppress(OSError):
        if "connect_proxy" in Path(f"/proc/{pid}/cmdline").read_text(errors="replace"):
            os.kill(pid, signal.SIGTERM)
    pidfile.unlink(missing_ok=True)


def _purge_host_files(name: str) -> None:
    clusters = (
        _run("pg_lsclusters", "--no-header", check=False).stdout if shutil.which("pg_lsclusters") else ""
    )
    for line in clusters.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1] == f"lab_{name}":
            _run("pg_dropcluster", "--stop", fields[0], fields[1], check=False)
    # pg_dropcluster leaves the files it did not create (the role's conf.d/50-lab.conf), and so the directory.
    for leftover in (
        *Path("/etc/postgresql").glob(f"*/lab_{name}"),
        *Path("/var/lib/postgresql").glob(f"*/lab_{name}"),
    ):
        shutil.rmtree(leftover, ignore_errors=True)
    for base in LAB_DIRS:
        shutil.rmtree(f"{base}/{name}", ignore_errors=True)
    snippets = [
        Path("/etc/sysctl.d") / f"60-lab-{name}.conf",
        Path("/etc/security/limits.d") / f"60-lab-{name}.conf",
    ]
    for path in (*snippets, *Path("/etc/tmpfiles.d").glob(f"lab-*-{name}.conf")):
        path.unlink(missing_ok=True)


def down(state_dir: Path = DEFAULT_STATE_DIR, purge: bool = False) -> None:
    """Tear the lab down completely; safe to run any number of times, also on a half-built lab."""
    present = namespaces()
    # Clients first, the database last: the app's connections end before Postgres shuts down.
    for name in sorted(HOSTS, key=lambda n: ("client" not in n, n == "labdb", n)):
        if name in present:
            stop_processes(name)
    _stop_proxy(state_dir)
    for name in HOSTS:
        if name in present:
            _run("ip", "netns", "del", name, check=False)
        for kind in ("m", "l"):
            _run("ip", "link", "del", _veth(kind, name), check=False)
    for bridge in (MGMT_BRIDGE, LAB_BRIDGE):
        _run("ip", "link", "del", bridge, check=False)
    _unblock_lab_network()
    if purge:
        for name in HOSTS:
            _purge_host_files(name)
        shutil.rmtree(state_dir, ignore_errors=True)  # keys, sshd configs and logs
    leftovers = sorted(namespaces() & set(HOSTS))
    if leftovers:
        raise LabError(f"namespaces still present after teardown: {leftovers}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.multihost.netns_lab", description=__doc__.split("\n")[0]
    )
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument("--purge", action="store_true", help="down: also remove the hosts' files")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            lab = up(args.state_dir)
            for host in lab.hosts:
                print(f"{host.name} {host.address} sshd pid {host.sshd_pid}")
            print(f"ssh -i {lab.private_key} root@<address>")
        else:
            down(args.state_dir, purge=args.purge)
            print("lab torn down" + (" and purged" if args.purge else ""))
    except LabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
