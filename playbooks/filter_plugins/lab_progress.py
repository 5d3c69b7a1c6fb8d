"""The run's ETA (labcore/sweep.py, ``remaining_s`` and ``duration_text``), as filters."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

_REPO = str(Path(__file__).resolve().parents[2])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from labcore.sweep import duration_text as lab_duration_text  # noqa: E402
from labcore.sweep import points as lab_sweep_points  # noqa: E402
from labcore.sweep import remaining_s as lab_remaining_s  # noqa: E402

__all__ = ["lab_duration_text", "lab_remaining_s", "lab_sweep_points"]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"lab_remaining_s": lab_remaining_s, "lab_duration_text": lab_duration_text}
