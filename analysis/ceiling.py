"""The hardware ceiling: nginx answering /json and /plaintext itself, with the same bytes and headers.

The lab benchmarks it like a framework, named CEILING_FRAMEWORK (playbooks/vars/test_types.yml names it too),
in the same run and through the same sweep. Each framework's throughput is then also given as a fraction of
the ceiling's at the same test type and level: a number that can be compared across machines, where raw
requests per second cannot.
"""

from __future__ import annotations

import math

import pandas as pd

from labcore import test_types

CEILING_FRAMEWORK = "nginx-ceiling"
CEILING_TYPES = tuple(t.name for t in test_types.TEST_TYPES.values() if t.ceiling)


def ceiling_rps(summary: pd.DataFrame) -> dict[tuple[str, int], float]:
    """{(test_type, level): the ceiling's median requests per second} from summary rows."""
    rows = summary[summary["framework"] == CEILING_FRAMEWORK]
    keys = zip(rows["test_type"].astype(str).tolist(), rows["level"].astype(int).tolist(), strict=True)
    return dict(zip(keys, rows["requestsPerSecond_median"].astype(float).tolist(), strict=True))


def ceiling_fractions(summary: pd.DataFrame) -> pd.Series:
    """Per summary row: median requests per second / the ceiling's at the same type and level (NaN: none)."""
    ceiling = ceiling_rps(summary)

    def fraction(test_type: str, level: int, rps: float) -> float:
        top = ceiling.get((test_type, level), math.nan)
        return rps / top if top > 0 else math.nan

    values = [
        fraction(t, lvl, rps)
        for t, lvl, rps in zip(
            summary["test_type"].astype(str).tolist(),
            summary["level"].astype(int).tolist(),
            summary["requestsPerSecond_median"].astype(float).tolist(),
            strict=True,
        )
    ]
    return pd.Series(values, index=summary.index, dtype="float64")


def without_ceiling(tidy: pd.DataFrame) -> pd.DataFrame:
    """The rows of real frameworks: TFB's results.json lists frameworks, and the ceiling is not one."""
    return tidy[tidy["framework"] != CEILING_FRAMEWORK]
