"""Putting kernel settings back (playbooks/library/lab_sysctl.py): the live values only, compared as sysctl
prints them; check mode changes nothing."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "playbooks" / "library"))
import lab_sysctl  # noqa: E402  (an Ansible module of the playbooks, run on the hosts)


def _proc_sys(tmp_path: Path) -> Path:
    (tmp_path / "net" / "core").mkdir(parents=True)
    (tmp_path / "net" / "ipv4").mkdir(parents=True)
    (tmp_path / "net" / "core" / "somaxconn").write_text("65535\n")
    (tmp_path / "net" / "ipv4" / "ip_local_port_range").write_text("1024\t65535\n")
    return tmp_path


def test_only_what_differs_is_set(tmp_path: Path) -> None:
    proc_sys = _proc_sys(tmp_path)
    values = {
        "net.core.somaxconn": "4096",
        "net.ipv4.ip_local_port_range": "1024 65535",  # the same, spelled with a space
        "net.core.netdev_max_backlog": "1000",  # not shown here
        "net.ipv4.tcp_tw_reuse": None,  # not recorded
    }
    changed, absent = lab_sysctl.apply(values, check=True, proc_sys=proc_sys)
    assert changed == [{"name": "net.core.somaxconn", "before": "65535", "after": "4096"}]
    assert absent == ["net.core.netdev_max_backlog"]
    assert (proc_sys / "net" / "core" / "somaxconn").read_text() == "65535\n"  # check mode
    assert lab_sysctl.apply(values, check=False, proc_sys=proc_sys)[0] == changed
    assert (proc_sys / "net" / "core" / "somaxconn").read_text() == "4096\n"
    assert lab_sysctl.apply(values, check=False, proc_sys=proc_sys) == ([], ["net.core.netdev_max_backlog"])
