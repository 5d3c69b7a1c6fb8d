"""The test-type registry: the one place a test type is defined (docs/test-types.md §2 "Test types").

Every consumer reads this module: the playbooks (through the `lab_test_type_specs` filter), the verifier
(analysis/verify/rules.py), the settings validation (the allowed `lab_test_types`), the analysis
(TechEmpower names, level lists, ceiling types) and the Makefile (`python3 -m labcore.test_types --scenario`).
Adding a type is one entry in TEST_TYPES plus its route in each app. Standard library only: the client runs
it too.

`python3 -m labcore.test_types` prints the registry as JSON; `--names` and `--scenario` print names only.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Literal

Sweep = Literal["concurrency", "pipeline", "queries"]
AcceptKind = Literal["json", "plaintext"]
# What the verifier requires of the body (docs/test-types.md §3 "Verification"): the hello object, the hello
# text, one world row, a list of world rows (its length from the `queries` parameter), the fortunes page, the
# answer to a name lookup ({"name": ..., "found": ...}).
BodyKind = Literal["message", "text", "world", "worlds", "fortunes", "lookup"]

# What a browser-like client sends; wrk and the verifier send the same, so the checks ask what the load asks.
ACCEPT_HEADERS: Mapping[AcceptKind, str] = {
    "plaintext": "text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7",
    "json": "application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7",
}

# The settings list that holds each sweep's levels (group_vars/all/benchmark.yml).
LEVEL_SETTINGS: Mapping[Sweep, str] = {
    "concurrency": "concurrency_levels",
    "pipeline": "pipeline_concurrency_levels",
    "queries": "query_levels",
}


class _Placeholders(dict[str, object]):
    def __init__(self, params: Mapping[str, object]) -> None:
        super().__init__(params)

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class DbHits:
    """What one request of the database-hit load costs the database: statements and rows on `table`.

    rows_at_most: `rows` is a bound, not a count (a lookup finds its row or none). indexed: each statement
    must be an index lookup, shown by the server's counters (docs/test-types.md §3.5).
    """

    table: str
    queries: int
    rows: int
    updates: bool = False
    rows_at_most: bool = False
    indexed: bool = False


@dataclass(frozen=True)
class TestType:
    """One test type.

    path: the request path; a `queries` sweep appends the level to it, and `{name}` placeholders are filled
    from lab_scenario_params. body, media_type/charset_required: the body and the Content-Type the verifier
    requires (None for the scenario types: apps/_common/scenarios.py checks those). db_hits: the database-hit
    rule, None when the type does not touch the database. tfb_name: the name in TechEmpower's results.json,
    None for the lab's own types. ceiling: nginx answers it itself as the hardware ceiling.
    """

    __test__ = False  # not a pytest class, despite the name

    name: str
    path: str
    sweep: Sweep
    accept: AcceptKind
    body: BodyKind | None = None
    media_type: str = "application/json"
    charset_required: bool = False
    db_hits: DbHits | None = None
    tfb_name: str | None = None
    scenario: bool = False
    ceiling: bool = False

    def __post_init__(self) -> None:
        # An entry the verifier could not grade is refused when the registry is loaded, naming the type.
        if self.scenario == (self.body is not None):
            raise ValueError(
                f"test type {self.name!r}: a scenario type has no body kind, any other type needs one"
            )
        if (self.body == "worlds") != (self.sweep == "queries"):
            raise ValueError(
                f"test type {self.name!r}: a list of worlds goes with the queries sweep, and only it"
            )

    @property
    def uses_db(self) -> bool:
        return self.db_hits is not None

    @property
    def accept_header(self) -> str:
        return ACCEPT_HEADERS[self.accept]

    @property
    def levels_setting(self) -> str:
        return LEVEL_SETTINGS[self.sweep]

    def request_path(self, params: Mapping[str, object] | None = None) -> str:
        """The path with lab_scenario_params filled in (a queries sweep still appends its level); a parameter
        not given stays a `{name}` placeholder."""
        return self.path.format_map(_Placeholders(params or {}))

    def spec(self, params: Mapping[str, object] | None = None) -> dict[str, object]:
        """The plain-data view the playbooks use (lab_test_type_specs[name])."""
        data = asdict(self)
        data.update(
            path=self.request_path(params),
            accept_header=self.accept_header,
            uses_db=self.uses_db,
            levels_setting=self.levels_setting,
        )
        return data


# Order matters: it is the order of the tables, the report and a run's sweep.
TEST_TYPES: Mapping[str, TestType] = {
    t.name: t
    for t in (
        TestType("json", "/json", "concurrency", "json", "message", tfb_name="json", ceiling=True),
        TestType(
            "plaintext",
            "/plaintext",
            "pipeline",
            "plaintext",
            "text",
            media_type="text/plain",
            tfb_name="plaintext",
            ceiling=True,
        ),
        TestType("db", "/db", "concurrency", "json", "world", db_hits=DbHits("world", 1, 1), tfb_name="db"),
        TestType(
            "queries",
            "/queries?queries=",
            "queries",
            "json",
            "worlds",
            db_hits=DbHits("world", 20, 20),
            tfb_name="query",
        ),
        TestType(
            "fortunes",
            "/fortunes",
            "concurrency",
            "json",
            "fortunes",
            media_type="text/html",
            charset_required=True,
            db_hits=DbHits("fortune", 1, 12),
            tfb_name="fortune",
        ),
        # Reads one statement per row; writes either one bulk statement or one per row.
        TestType(
            "updates",
            "/updates?queries=",
            "queries",
            "json",
            "worlds",
            db_hits=DbHits("world", 20, 20, updates=True),
            tfb_name="update",
        ),
        # The indexed lookup (the lab's own, not TechEmpower's): whether demo_data has a row of a random name.
        TestType(
            "lookup",
            "/lookup",
            "concurrency",
            "json",
            "lookup",
            db_hits=DbHits("demo_data", 1, 1, rows_at_most=True, indexed=True),
        ),
        # The scenario types (not TechEmpower's: apps/README.md, "Scenario routes"), swept like json.
        TestType("sleep", "/sleep?ms={sleep_ms}", "concurrency", "json", scenario=True),
        TestType("cpu", "/cpu?n={cpu_n}", "concurrency", "json", scenario=True),
        TestType("upstream", "/upstream?ms={upstream_ms}", "concurrency", "json", scenario=True),
        # The async apps call the upstream with the blocking client on their event loop (the sync apps always
        # do).
        TestType(
            "upstream_sync", "/upstream?client=sync&ms={upstream_ms}", "concurrency", "json", scenario=True
        ),
    )
}

# The level a database-hit load asks of a `queries` sweep type.
DB_HIT_QUERIES = 20


def names(*, scenario: bool | None = None) -> list[str]:
    """Type names in registry order; scenario=True/False keeps only the scenario or only the TFB types."""
    return [t.name for t in TEST_TYPES.values() if scenario is None or t.scenario == scenario]


def get(name: str) -> TestType:
    try:
        return TEST_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown test type {name!r}; known: {', '.join(TEST_TYPES)}") from None


def by_tfb_name() -> dict[str, TestType]:
    """TechEmpower's type name -> the lab's type (query -> queries, ...)."""
    return {t.tfb_name: t for t in TEST_TYPES.values() if t.tfb_name}


def specs(params: Mapping[str, object] | None = None) -> dict[str, dict[str, object]]:
    return {name: t.spec(params) for name, t in TEST_TYPES.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python3 -m labcore.test_types", description=__doc__.splitlines()[0]
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--names", action="store_true", help="every type's name, space-separated")
    group.add_argument("--scenario", action="store_true", help="the scenario types' names, space-separated")
    args = parser.parse_args(argv)
    if args.names or args.scenario:
        print(" ".join(names(scenario=True if args.scenario else None)))
    else:
        json.dump(specs(), sys.stdout, indent=2)
        print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
