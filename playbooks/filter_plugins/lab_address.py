"""The lab's IP addresses (lab_address and what group_vars/all/tiers.yml derives from it), on the controller.

One address has many spellings in IPv6 (fd00::11, fd00:0:0::11, FD00::0011), and a URL, a Host header or an
nginx `listen` writes an IPv6 address in brackets; `ip` and `ss` print one spelling of their own. So the
address is parsed (Python's ipaddress), never compared or bracketed as text:

    lab_ip_problem(value)               '' for an IP address literal a tier can listen on and be reached at,
                                        else why it is not one (shown after the value in the validation)
    lab_ip_normalized(value)            the one spelling of an address (ipaddress' compressed form)
    lab_url_host(value)                 the host of a URL or a Host header: an IPv6 address in brackets
    lab_ip_addresses(ip_json)           the addresses `ip -j address show` lists, normalized
    lab_ip_configured(value, addresses) value is one of addresses, or a loopback address
    lab_listeners_at(ss_lines, value)   the lines of `ss -H -l -t -n` whose socket holds value's port on value
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterable
from typing import Any

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NOT_AN_IP = (
    "is not an IP address literal (IPv4 like 10.0.0.11, or IPv6 like fd00::11 without brackets, zone index"
    " or prefix length)"
)
UNSPECIFIED = "is the unspecified address, a wildcard for every address of the host, not one others can reach"


def _parse(value: Any) -> IPAddress | None:
    # Only strings: ipaddress also takes an int (10 is 0.0.0.10), and an inventory's `lab_address: 10` is not.
    if not isinstance(value, str):
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    # fe80::1%eth0: neither nginx's listen nor a URL takes a zone index.
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
        return None
    return address


def lab_ip_problem(value: Any) -> str:
    """'' when value is an IP address literal other than the unspecified one, else why it is not one."""
    address = _parse(value)
    if address is None:
        return NOT_AN_IP
    if address.is_unspecified:
        return UNSPECIFIED
    return ""


def lab_ip_normalized(value: Any) -> str:
    """The address in ipaddress' compressed spelling (lower case, longest zero run as ::)."""
    address = _parse(value)
    if address is None:
        raise ValueError(f"{value!r} {NOT_AN_IP}")
    return address.compressed


def lab_url_host(value: Any) -> str:
    """value as the host part of a URL, a Host header or host:port: an IPv6 address in brackets.

    Anything else (an IPv4 address, a host name, an address already in brackets) is returned as it is.
    """
    text = str(value)
    return f"[{text}]" if ":" in text and not text.startswith("[") else text


def lab_ip_addresses(ip_json: Any) -> list[str]:
    """The addresses of every interface in `ip -j address show` output (text or parsed), normalized."""
    interfaces = json.loads(ip_json) if isinstance(ip_json, str) else ip_json
    found: list[str] = []
    for interface in interfaces or []:
        for info in interface.get("addr_info") or []:
            address = _parse(info.get("local"))
            if address is not None and address.compressed not in found:
                found.append(address.compressed)
    return found


def lab_ip_configured(value: Any, addresses: Iterable[Any]) -> bool:
    """value is a loopback address (every host answers those) or one of addresses, in whatever spelling."""
    address = _parse(value)
    if address is None:
        return False
    if address.is_loopback:
        return True
    return any(address == other for other in map(_parse, addresses) if other is not None)


def _local_address(line: str) -> IPAddress | str | None:
    """The local address of one `ss -H -l -t -n [-p]` line: an address, "*" (every address of both families),
    or None for a line that is not a socket."""
    fields = line.split()
    # State, Recv-Q, Send-Q, then Local Address:Port.
    if len(fields) < 4 or ":" not in fields[3]:
        return None
    host = fields[3].rpartition(":")[0].partition("%")[0]
    if host == "*":
        return "*"
    address = _parse(host.removeprefix("[").removesuffix("]"))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def lab_listeners_at(lines: Iterable[str], value: Any) -> list[str]:
    """The lines of `ss -H -l -t -n [-p] sport = :PORT` whose socket would keep a server from listening on
    value:PORT: one bound to value itself (any spelling, or IPv4-mapped), to the wildcard of value's family,
    or to "*" (an IPv6 wildcard that also takes IPv4)."""
    wanted = _parse(value)
    held: list[str] = []
    for line in lines:
        local = _local_address(line)
        if local is None:
            continue
        if (
            local == "*"
            or (wanted is not None and local == wanted)
            or (
                wanted is not None
                and not isinstance(local, str)
                and local.version == wanted.version
                and local.is_unspecified
            )
        ):
            held.append(line)
    return held


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "lab_ip_problem": lab_ip_problem,
            "lab_ip_normalized": lab_ip_normalized,
            "lab_url_host": lab_url_host,
            "lab_ip_addresses": lab_ip_addresses,
            "lab_ip_configured": lab_ip_configured,
            "lab_listeners_at": lab_listeners_at,
        }
