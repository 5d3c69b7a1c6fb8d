"""The lab's tiers as a host pattern, for the plays that run on every lab host.

`groups | lab_tier_hosts` gives "db:app:client" plus each optional tier the inventory has hosts in (upstream,
lb); `groups | lab_tier_hosts(['app', 'upstream', 'lb'])` the same for the tiers named. An optional group left
out of the inventory (or empty) is left out of the pattern, so a play never warns about a group it cannot
match; with none of the tiers named, the pattern matches no host and the play is skipped.

`groups | lab_tier_host_list` lists the hosts of the same tiers, each once.

`groups['app'] | lab_db_connections(hostvars, 'mysql')` adds up what each app host's pools hold at most on an
engine, as the app hosts reported it (roles/app_server, tasks_from db_demand): the database's connection limit
is sized from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

# The required tiers first, then the optional ones.
TIERS = ("db", "app", "client", "upstream", "lb")
OPTIONAL = frozenset({"upstream", "lb"})


def lab_tier_hosts(groups: Mapping[str, Sequence[str]], tiers: Sequence[str] = TIERS) -> str:
    # "all:!all" matches no host, quietly: the play is skipped ("no hosts matched").
    return ":".join(tier for tier in tiers if tier not in OPTIONAL or groups.get(tier)) or "all:!all"


def lab_tier_host_list(groups: Mapping[str, Sequence[str]], tiers: Sequence[str] = TIERS) -> list[str]:
    """The hosts of those tiers, each once, in tier order: what a task loops over to reach every lab host."""
    hosts: list[str] = []
    for tier in tiers:
        hosts += [host for host in groups.get(tier, []) if host not in hosts]
    return hosts


def lab_db_connections(app_hosts: Sequence[str], hostvars: Mapping[str, Any], engine: str) -> int | None:
    """None until every app host has reported (site.yml's db_demand play): a playbook that only records the
    settings (environment.yml) renders it too, and the db role's preflight refuses None by name."""
    if any("app_server_db_connections" not in hostvars[host] for host in app_hosts):
        return None
    return sum(int(hostvars[host]["app_server_db_connections"].get(engine, 0)) for host in app_hosts)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "lab_tier_hosts": lab_tier_hosts,
            "lab_tier_host_list": lab_tier_host_list,
            "lab_db_connections": lab_db_connections,
        }
