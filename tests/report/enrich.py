"""Tidy columns other parts of the analysis add, derived here from a saved run's real resource samples."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.plots import CPU_PER_REQUEST_COLUMN


def with_cpu_columns(tidy: pd.DataFrame, samples: pd.DataFrame, cores: int = 2) -> pd.DataFrame:
    """App CPU ms per 1,000 requests (the host's busy % over the point's window, on ``cores`` cores; every
    tier shares the one host in the saved run) and a client-saturated flag for the highest level."""
    frame = tidy.copy()
    busy = 100 - samples["cpu_idle_pct"]
    cpu_ms: list[float] = []
    for start_ms, end_ms, requests in zip(
        frame["start_ms"], frame["end_ms"], frame["totalRequests"], strict=True
    ):
        window = (samples["time_ms"] >= start_ms) & (samples["time_ms"] <= end_ms)
        mean_busy = float(busy[window].mean()) if window.any() else np.nan
        cpu_ms.append(mean_busy / 100 * cores * float(end_ms - start_ms) / max(int(requests), 1) * 1000)
    frame[CPU_PER_REQUEST_COLUMN] = cpu_ms
    frame["client_saturated"] = frame["concurrency"] >= frame["concurrency"].max()
    return frame
