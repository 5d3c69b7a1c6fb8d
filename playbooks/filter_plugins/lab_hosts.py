"""The lab's tiers as a host pattern, for the plays that run on every lab host.

`groups | lab_tier_hosts` gives "db:app:client" plus each optional tier the inventory has hosts in (upstream,
lb); `groups | lab_tier_hosts(['app', 'upstream', 'lb'])` the same for the tiers named. An optional group left
out of the inventory (or empty) is left out of the pattern, so a play never warns about a group it cannot
match; with none of the tiers named, the pattern matches no host and the play is skipped.
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


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"lab_tier_hosts": lab_tier_hosts}
