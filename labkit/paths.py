"""Where things are in the repository."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
APPS_DIR = REPO / "apps"
COMMON_DIR = APPS_DIR / "_common"
