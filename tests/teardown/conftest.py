"""The teardown of the localhost lab (`make test-teardown`): the last suite of its lane in `make test`, so it
leaves the machine torn down, as a user's `make teardown` would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..labrun import localhost_lock


@pytest.fixture(scope="session", autouse=True)
def _localhost_tiers() -> Iterator[None]:
    """The suite drives the shared localhost tiers: hold /tmp/lab-localhost.lock while it runs."""
    with localhost_lock():
        yield
