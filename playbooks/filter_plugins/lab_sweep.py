"""The points of one test type (labcore/sweep.py, ``points``; docs/test-types.md §4.2 "The runs of one test
type") as a filter: `spec | lab_sweep_points(s)`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

# Ansible loads a filter plugin by path; labcore lives at the repository's root.
_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from labcore.sweep import SWEEPS, points  # noqa: E402

__all__ = ["SWEEPS", "lab_sweep_points"]


def lab_sweep_points(spec: dict[str, Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    return points(spec, settings)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"lab_sweep_points": lab_sweep_points}
