"""playbooks/filter_plugins/lab_address.py: lab_address parsed, normalized and bracketed; playbooks/files/
lab_db_ping.py's host:port. The validation (roles/lab_settings) and the preflight use the filters; the real
playbook runs are tests/ansible/test_lab_address.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_test_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lab_address = _load(REPO / "playbooks" / "filter_plugins" / "lab_address.py")
pg_ping = _load(REPO / "playbooks" / "files" / "lab_db_ping.py")

# `ip -j address show` of a host with loopback, one IPv4 and one IPv6 address (and an interface without any).
IP_JSON = json.dumps(
    [
        {
            "ifname": "lo",
            "addr_info": [
                {"family": "inet", "local": "127.0.0.1", "prefixlen": 8},
                {"family": "inet6", "local": "::1", "prefixlen": 128},
            ],
        },
        {
            "ifname": "eth0",
            "addr_info": [
                {"family": "inet", "local": "10.0.0.11", "prefixlen": 24},
                {"family": "inet6", "local": "fd00::11", "prefixlen": 64},
                {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"},
                {},
            ],
        },
        {"ifname": "dummy0", "addr_info": []},
    ]
)


@pytest.mark.parametrize(
    "value", ["10.0.0.11", "127.0.0.1", "::1", "fd00::11", "FD00:0:0::0011", "2001:db8::1", "::ffff:10.0.0.1"]
)
def test_an_ip_address_literal_is_accepted(value: str) -> None:
    assert lab_address.lab_ip_problem(value) == ""


@pytest.mark.parametrize("value", ["0.0.0.0", "::", "0::0", "0:0:0:0:0:0:0:0", "0000::", "::0"])
def test_every_spelling_of_the_unspecified_address_is_a_wildcard(value: str) -> None:
    assert lab_address.lab_ip_problem(value) == lab_address.UNSPECIFIED


@pytest.mark.parametrize(
    "value",
    [
        "db.example.com",
        "localhost",
        "",
        "*",
        "[::1]",
        "10.0.0.11/24",
        "fd00::11/64",
        "fe80::1%eth0",
        "10.0.0.256",
        "010.0.0.1",
        " 10.0.0.11",
        "1:2",
        10,
        None,
        ["10.0.0.11"],
    ],
)
def test_anything_else_is_not_an_ip_address(value: object) -> None:
    assert lab_address.lab_ip_problem(value) == lab_address.NOT_AN_IP


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("10.0.0.11", "10.0.0.11"),
        ("FD00:0:0::0011", "fd00::11"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
    ],
)
def test_ipv6_spellings_normalize_to_one(value: str, normalized: str) -> None:
    assert lab_address.lab_ip_normalized(value) == normalized


def test_normalizing_a_non_address_raises_naming_it() -> None:
    with pytest.raises(ValueError, match=r"'db\.example\.com' is not an IP address"):
        lab_address.lab_ip_normalized("db.example.com")


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("::1", "[::1]"),
        ("fd00::11", "[fd00::11]"),
        ("[::1]", "[::1]"),
        ("10.0.0.11", "10.0.0.11"),
        ("db1", "db1"),
    ],
)
def test_url_host_brackets_ipv6_only(value: str, host: str) -> None:
    assert lab_address.lab_url_host(value) == host


def test_the_hosts_addresses_are_read_from_ip_json_normalized() -> None:
    assert lab_address.lab_ip_addresses(IP_JSON) == ["127.0.0.1", "::1", "10.0.0.11", "fd00::11", "fe80::1"]
    assert lab_address.lab_ip_addresses(json.loads(IP_JSON)) == lab_address.lab_ip_addresses(IP_JSON)
    assert lab_address.lab_ip_addresses("[]") == []


@pytest.mark.parametrize("value", ["10.0.0.11", "fd00::11", "FD00:0::11", "127.0.0.1", "127.0.0.2", "::1"])
def test_an_address_of_the_host_or_a_loopback_one_is_configured(value: str) -> None:
    assert lab_address.lab_ip_configured(value, lab_address.lab_ip_addresses(IP_JSON))


@pytest.mark.parametrize(
    "value", ["10.255.255.1", "fd00::12", "203.0.113.5", "db.example.com", "::ffff:10.0.0.11"]
)
def test_any_other_address_is_not_configured(value: str) -> None:
    assert not lab_address.lab_ip_configured(value, lab_address.lab_ip_addresses(IP_JSON))


def test_loopback_counts_even_where_ip_shows_none() -> None:
    assert lab_address.lab_ip_configured("127.0.0.1", [])
    assert lab_address.lab_ip_configured("::1", [])


# `ss -H -l -t -n -p sport = :8080` lines, one per kind of local address ss prints.
SS = {
    "v4": 'LISTEN 0 511 127.0.0.1:8080 0.0.0.0:* users:(("nginx",pid=11,fd=6))',
    "v4-any": 'LISTEN 0 511 0.0.0.0:8080 0.0.0.0:* users:(("python3",pid=12,fd=3))',
    "v6": 'LISTEN 0 511 [::1]:8080 [::]:* users:(("nginx",pid=13,fd=7))',
    "v6-long": 'LISTEN 0 511 [fd00::11]:8080 [::]:* users:(("nginx",pid=14,fd=7))',
    "v6-any": 'LISTEN 0 511 [::]:8080 [::]:* users:(("python3",pid=15,fd=3))',
    "dual-any": 'LISTEN 0 511 *:8080 *:* users:(("python3",pid=16,fd=3))',
    "v4-mapped": 'LISTEN 0 511 [::ffff:10.0.0.11]:8080 [::]:* users:(("python3",pid=17,fd=3))',
    "v4-iface": 'LISTEN 0 511 10.0.0.11%eth0:8080 0.0.0.0:* users:(("python3",pid=18,fd=3))',
    "v6-zone": 'LISTEN 0 511 [fe80::1]%eth0:8080 [::]:* users:(("python3",pid=19,fd=3))',
    "other-v4": 'LISTEN 0 511 10.0.0.99:8080 0.0.0.0:* users:(("python3",pid=20,fd=3))',
}


@pytest.mark.parametrize(
    ("value", "held_by"),
    [
        ("127.0.0.1", {"v4", "v4-any", "dual-any"}),
        ("::1", {"v6", "v6-any", "dual-any"}),
        ("0:0:0:0:0:0:0:1", {"v6", "v6-any", "dual-any"}),
        ("FD00:0::11", {"v6-long", "v6-any", "dual-any"}),
        ("10.0.0.11", {"v4-any", "dual-any", "v4-mapped", "v4-iface"}),
        ("fe80::1", {"v6-any", "dual-any", "v6-zone"}),
    ],
)
def test_listeners_on_the_address_or_a_wildcard_of_its_family_hold_its_port(
    value: str, held_by: set[str]
) -> None:
    held = lab_address.lab_listeners_at([*SS.values(), "", "garbage"], value)
    assert held == [line for name, line in SS.items() if name in held_by]


def test_the_filters_are_registered() -> None:
    assert set(lab_address.FilterModule().filters()) == {
        "lab_ip_problem",
        "lab_ip_normalized",
        "lab_url_host",
        "lab_ip_addresses",
        "lab_ip_configured",
        "lab_listeners_at",
    }


def test_the_validation_role_uses_the_same_file() -> None:
    from roles.lab_settings.files import lab_settings_rules

    used = Path(lab_settings_rules.lab_ip_problem.__code__.co_filename).resolve()
    assert used == (REPO / "playbooks" / "filter_plugins" / "lab_address.py").resolve()


@pytest.mark.parametrize(
    ("host", "where"), [("127.0.0.1", "127.0.0.1:5432"), ("::1", "[::1]:5432"), ("db1", "db1:5432")]
)
def test_pg_ping_writes_ipv6_in_brackets(host: str, where: str) -> None:
    assert pg_ping.host_port(host, 5432) == where
