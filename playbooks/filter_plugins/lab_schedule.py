"""The planned starts of a sweep's points on several clients (labcore/sweep.py, ``schedule``), as a filter."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from labcore.sweep import schedule as lab_sweep_schedule  # noqa: E402

__all__ = ["lab_sweep_schedule"]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"lab_sweep_schedule": lab_sweep_schedule}
