"""The lookup type's table in labkit's throwaway databases: demo_data loaded by labcore/demo_data.py's own
command line, with the engine's client as the superuser, as on the lab's db host.

A small table: ROWS rows load in a fraction of a second, and hold the rows every test asks about (the present
name is row 1's, which a table of any size has; labcore.demo_data.absent_name() is no row's).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence

from labcore.demo_data import TABLE

from .paths import REPO

ROWS = 20_000
LOADER = REPO / "labcore" / "demo_data.py"
__all__ = ["LOADER", "ROWS", "TABLE", "load"]


def load(engine: str, client: Sequence[str], rows: int = ROWS) -> dict[str, object]:
    """Load demo_data (engine: postgres | mysql) through client, the engine's client argv as the superuser
    connected to the benchmark database; returns the loader's report."""
    argv = [sys.executable, str(LOADER), "load", "--engine", engine, "--rows", str(rows), "--", *client]
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(
            f"{LOADER.name} exited with {out.returncode}: {out.stdout.strip()} {out.stderr.strip()}"
        )
    report: dict[str, object] = json.loads(out.stdout)
    return report
