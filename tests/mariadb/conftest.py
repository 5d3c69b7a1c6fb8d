"""roles/mariadb on this machine with the real server (tests/mariadb/test_mariadb_role.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..labrun import localhost_lock


@pytest.fixture(scope="session", autouse=True)
def _localhost_tiers() -> Iterator[None]:
    """The instance lives beside the shared localhost tiers (its own host id and port): hold
    /tmp/lab-localhost.lock while it runs, as every suite that provisions on this machine does."""
    with localhost_lock():
        yield
