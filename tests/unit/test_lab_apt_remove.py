"""Removing the apt packages the lab installed (playbooks/library/lab_apt_remove.py): only with what they
brought along, never a package that was there before or one installed by hand since."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "playbooks" / "library"))
import lab_apt_remove  # noqa: E402  (an Ansible module of the playbooks, run on the hosts)

# What apt would remove, per package alone; --auto-remove adds what would then be unneeded.
DEPENDENTS = {
    "nginx": {"nginx"},
    "postgresql-15": {"postgresql-15", "postgresql-contrib"},  # contrib depends on it
    "libpq-dev": {"libpq-dev"},
    "gcc": {"gcc"},
}
ORPHANED = {"nginx": {"nginx-common"}, "libpq-dev": {"libpq5"}, "gcc": {"gcc-12", "cpp-12"}}


def _simulate(names: Sequence[str], auto_remove: bool) -> set[str]:
    removed: set[str] = set()
    for name in names:
        removed |= DEPENDENTS[name]
        if auto_remove:
            removed |= ORPHANED.get(name, set())
    return removed


INSTALLED = {"nginx", "nginx-common", "libpq-dev", "libpq5", "gcc", "gcc-12", "cpp-12", "curl"}
AUTO = {"nginx-common", "libpq5", "gcc-12", "cpp-12"}


def test_the_packages_go_with_the_dependencies_they_brought() -> None:
    before = {"curl", "adduser"}
    plan = lab_apt_remove.plan(
        ["nginx", "libpq-dev", "curl-not-installed"], INSTALLED, AUTO, before, _simulate
    )
    assert plan.remove == ["libpq-dev", "nginx"] and plan.auto_remove
    assert plan.removed == ["libpq-dev", "libpq5", "nginx", "nginx-common"]
    assert plan.kept == {}


def test_a_dependency_that_was_there_before_stays() -> None:
    # libpq5 was installed before the lab: --auto-remove would take it, so the plain removal is used.
    plan = lab_apt_remove.plan(["nginx", "libpq-dev"], INSTALLED, AUTO, {"libpq5"}, _simulate)
    assert plan.remove == ["libpq-dev", "nginx"] and not plan.auto_remove
    assert plan.removed == ["libpq-dev", "nginx"]


def test_a_package_something_else_needs_now_stays_and_is_named() -> None:
    installed = INSTALLED | {"postgresql-15", "postgresql-contrib"}
    # postgresql-contrib was installed by hand after the lab, and needs postgresql-15.
    plan = lab_apt_remove.plan(["postgresql-15", "nginx"], installed, AUTO, {"curl"}, _simulate)
    assert plan.remove == ["nginx"] and plan.auto_remove
    assert plan.kept == {"postgresql-15": ["postgresql-contrib"]}


def test_without_the_record_of_the_packages_before_only_the_named_ones_go() -> None:
    plan = lab_apt_remove.plan(["gcc", "nginx"], INSTALLED, AUTO, None, _simulate)
    assert plan.remove == ["gcc", "nginx"] and not plan.auto_remove
    assert plan.removed == ["gcc", "nginx"]


def test_nothing_installed_nothing_to_do() -> None:
    assert lab_apt_remove.plan(["wrk"], INSTALLED, AUTO, set(), _simulate) == lab_apt_remove.Plan()
    assert lab_apt_remove.plan([], INSTALLED, AUTO, set(), _simulate) == lab_apt_remove.Plan()


def test_the_removals_are_read_from_apt_gets_simulation() -> None:
    output = (
        "Reading package lists...\nThe following packages will be REMOVED:\n  nginx nginx-common\n"
        "Remv nginx [1.22.1-9+deb12u3]\nRemv nginx-common [1.22.1-9+deb12u3]\nPurg libfoo:amd64 [1.0]\n"
        "Inst something-else [1.0]\n"
    )
    assert lab_apt_remove.parse_removals(output) == {"nginx", "nginx-common", "libfoo"}


def test_a_real_simulation_names_the_package() -> None:
    if shutil.which("apt-get") is None or shutil.which("dpkg-query") is None:
        pytest.skip("not applicable here: no apt (a Debian or Ubuntu machine)")
    installed = lab_apt_remove.installed(["wrk"])
    if "wrk" not in installed:
        pytest.skip("wrk is not installed (make test-deps installs it)")
    # A simulation only: apt changes nothing.
    assert "wrk" in lab_apt_remove.simulate(["wrk"], False)
    proc = subprocess.run(["dpkg-query", "--show", "wrk"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0  # still installed
