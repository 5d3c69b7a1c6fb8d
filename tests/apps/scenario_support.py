"""Helpers for the scenario tests: the shared scenarios module and the app kinds (the upstream service they
run against is labkit.upstream)."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType

from labkit.apps import frameworks, load_manifest
from labkit.paths import COMMON_DIR


def import_scenarios() -> ModuleType:
    """apps/_common/scenarios.py, imported as the apps import it."""
    if str(COMMON_DIR) not in sys.path:
        sys.path.insert(0, str(COMMON_DIR))
    return importlib.import_module("scenarios")


def native_kind(framework: str) -> str:
    """ "sync" for the WSGI apps, "async" for the asyncio ones (which client /upstream uses by default)."""
    return "sync" if load_manifest(framework)["interface"] == "wsgi" else "async"


NATIVE_KIND = {fw: native_kind(fw) for fw in frameworks()}
