"""The README's port table is the lab's own (playbooks/vars/network.yml), row for row.

The multi-host tests build their hosts' packet filters from the same file (tests/multihost/netns_lab.py), so
what a user opens in a cloud's security groups is what the test lab opens.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.multihost.netns_lab import port_table

REPO = Path(__file__).resolve().parents[2]
TIER = re.compile(r"\b(db|app|client|upstream|lb)\b")
PORT = re.compile(r"^(\d+)/tcp \(`(\w+)`\)$")


def _readme_rows() -> list[list[str]]:
    text = (REPO / "README.md").read_text()
    table = text.split("<!-- ports:begin", 1)[1].split("<!-- ports:end -->", 1)[0]
    rows = [line.strip() for line in table.splitlines() if line.strip().startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]  # past header, rule


def test_the_readme_lists_exactly_the_lab_port_table() -> None:
    rows = _readme_rows()
    ssh = [row for row in rows if row[0].startswith("22/tcp")]
    assert len(ssh) == 1 and "controller" in ssh[0][1] and "every host" in ssh[0][2], ssh
    listed = set()
    for port_cell, source, target, why in (row for row in rows if row not in ssh):
        found = PORT.match(port_cell)
        assert found, port_cell
        source_tier, target_tier = TIER.search(source), TIER.search(target)
        assert source_tier and target_tier, (source, target)
        listed.add((int(found[1]), found[2], source_tier[1], target_tier[1], why))
    expected = {(r.port, r.port_var, r.source, r.target, r.why) for r in port_table()}
    assert listed == expected


def test_each_port_of_the_table_is_a_knob_with_a_default() -> None:
    # postgres_port 5432, app_server_port 8080, upstream_port 8091: what the README and the filters say.
    assert {rule.port_var: rule.port for rule in port_table()} == {
        "postgres_port": 5432,
        "mariadb_port": 3306,
        "app_server_port": 8080,
        "upstream_port": 8091,
        "lb_port": 8081,
    }
