"""The test-type registry (labcore/test_types.py) as the playbooks see it.

`lab_scenario_params | lab_test_type_specs` gives {name: spec} in registry order, each spec with the path
(scenario parameters filled in), sweep, accept_header, uses_db, tfb_name, scenario and ceiling.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# Ansible loads a filter plugin by path; the registry lives at the repository's root (resolve(): the roles
# link to these files).
_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from labcore import test_types  # noqa: E402


def lab_test_type_specs(params: Mapping[str, Any] | None = None) -> dict[str, dict[str, object]]:
    return test_types.specs(params)


def lab_test_type_names(kind: str = "all") -> list[str]:
    """Names in registry order; kind: all, scenario or tfb."""
    choices = {"all": None, "scenario": True, "tfb": False}
    if kind not in choices:
        raise ValueError(f"lab_test_type_names: kind must be one of {', '.join(choices)}, got {kind!r}")
    return test_types.names(scenario=choices[kind])


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"lab_test_type_specs": lab_test_type_specs, "lab_test_type_names": lab_test_type_names}
