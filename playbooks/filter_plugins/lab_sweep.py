"""The ordered wrk runs of one test type: primer, warm-up, then every level (docs/test-types.md §4.2 "The
runs of one test type")."""

from __future__ import annotations

from typing import Any

SWEEPS = ("concurrency", "pipeline", "queries")


def _query_path(path: str, queries: int | None) -> str:
    return f"{path}{queries}" if queries is not None else path


def lab_sweep_points(spec: dict[str, Any], settings: dict[str, Any]) -> list[dict[str, Any]]:
    """Every run of one test type, in order, each with what lab_wrk_run.py and its meta file need.

    spec: one entry of lab_test_type_specs (path, sweep). settings: concurrency_levels,
    pipeline_concurrency_levels, query_levels, pipeline_depth, duration_s, primer_duration_s,
    primer_concurrency, warmup_duration_s, repeats.
    """
    sweep = spec["sweep"]
    if sweep not in SWEEPS:
        raise ValueError(f"sweep must be one of {SWEEPS}, got {sweep!r}")
    max_concurrency = max(int(c) for c in settings["concurrency_levels"])
    depth = int(settings["pipeline_depth"]) if sweep == "pipeline" else 1
    if sweep == "pipeline":
        levels = [int(c) for c in settings["pipeline_concurrency_levels"]]
    elif sweep == "queries":
        levels = [int(q) for q in settings["query_levels"]]
    else:
        levels = [int(c) for c in settings["concurrency_levels"]]

    def point(
        phase: str,
        stem: str,
        level: int,
        concurrency: int,
        queries: int | None,
        duration_s: int,
        repeat: int,
        pipeline: int = 1,
    ) -> dict[str, Any]:
        return {
            "phase": phase,
            "stem": stem,
            "level": level,
            "concurrency": concurrency,
            "pipeline": pipeline,
            "queries": queries,
            "duration_s": duration_s,
            "repeat": repeat,
            "path": _query_path(spec["path"], queries),
        }

    # As TFB's scripts do: primer and warm-up are never pipelined, and the warm-up runs at the highest
    # concurrency level (and, for query types, the highest query count).
    primer_concurrency = int(settings["primer_concurrency"])
    primer_queries = 2 if sweep == "queries" else None
    warmup_queries = max(levels) if sweep == "queries" else None
    points = [
        point(
            "primer",
            "primer-r1",
            primer_queries or primer_concurrency,
            primer_concurrency,
            primer_queries,
            int(settings["primer_duration_s"]),
            1,
        ),
        point(
            "warmup",
            "warmup-r1",
            warmup_queries or max_concurrency,
            max_concurrency,
            warmup_queries,
            int(settings["warmup_duration_s"]),
            1,
        ),
    ]
    for repeat in range(1, int(settings["repeats"]) + 1):
        for level in levels:
            if sweep == "queries":
                points.append(
                    point(
                        "level",
                        f"level-q{level}-r{repeat}",
                        level,
                        max_concurrency,
                        level,
                        int(settings["duration_s"]),
                        repeat,
                    )
                )
            else:
                points.append(
                    point(
                        "level",
                        f"level-c{level}-r{repeat}",
                        level,
                        level,
                        None,
                        int(settings["duration_s"]),
                        repeat,
                        depth,
                    )
                )
    return points


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"lab_sweep_points": lab_sweep_points}
