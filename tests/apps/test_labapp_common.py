"""apps/_common/labapp_common.py without servers: the queries rule, the lookup's name rule and the random
helpers."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import cast

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "apps" / "_common"))
import labapp_common as common

from labcore import demo_data

APPS_DIR = Path(__file__).resolve().parents[2] / "apps"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 1), ("", 1), ("foo", 1), ("0", 1), ("-1", 1), ("1", 1), ("2", 2), ("+3", 3), ("500", 500),
        ("501", 500), ("1000000000", 500), ("9" * 5000, 500), ("-" + "9" * 5000, 1), ("2.5", 1),
        (" 2", 1), ("2 ", 1), ("1_0", 1), ("\uff12", 1), ("\u0663", 1), ("0x10", 1), ("x" * 100000, 1),
    ],
)  # fmt: skip
def test_queries_param(raw: str | None, expected: int) -> None:
    assert common.queries_param(raw) == expected


def test_new_random_number_differs() -> None:
    for old in (1, 2, 5000, 9999, 10000):
        values = {common.new_random_number(old) for _ in range(20000)}
        assert old not in values
        assert values <= set(range(1, 10001))
    assert {common.new_random_number(10000) for _ in range(50000)} >= {1, 9999}


def test_distinct_random_ids() -> None:
    ids = common.distinct_random_ids(500)
    assert len(set(ids)) == 500 and ids == sorted(ids) and ids[0] >= 1 and ids[-1] <= 10000


def test_sorted_fortunes() -> None:
    rows = [(2, "b"), (1, "a"), (3, "Z")]
    assert common.sorted_fortunes(rows) == [
        (0, "Additional fortune added at request time."),
        (3, "Z"),
        (1, "a"),
        (2, "b"),
    ]


def test_db_config_from_env(tmp_path: Path) -> None:
    password_file = tmp_path / "pw"
    password_file.write_text("s3cret\n")
    config = common.db_config_from_env(
        {"LAB_DB_HOST": "db1", "LAB_DB_PORT": "5433", "LAB_DB_PASSWORD_FILE": str(password_file),
         "LAB_DB_POOL_SIZE": "3", "LAB_DB_MODE": "orm"}
    )  # fmt: skip
    assert config == common.DbConfig("db1", 5433, "hello_world", "benchmarkdbuser", "s3cret", 3, "orm")
    assert config.engine == "postgres"
    with pytest.raises(ValueError, match="LAB_DB_MODE"):
        common.db_config_from_env({"LAB_DB_MODE": "nosql"})


def test_the_engine_and_its_default_port() -> None:
    assert common.db_config_from_env({}).port == 5432
    mysql = common.db_config_from_env({"LAB_DB_ENGINE": "mysql"})
    assert (mysql.engine, mysql.port) == ("mysql", 3306)
    assert common.db_config_from_env({"LAB_DB_ENGINE": "mysql", "LAB_DB_PORT": "3307"}).port == 3307
    for bad in ("MySQL", "mariadb", ""):
        with pytest.raises(ValueError, match=f"LAB_DB_ENGINE must be one of .* not {bad!r}"):
            common.db_config_from_env({"LAB_DB_ENGINE": bad})


def test_mysqls_reads_are_one_select_per_id_in_one_text() -> None:
    sql = common.mysql_select_worlds([7, 7, 10000])
    assert sql.split(";") == [common.SELECT_WORLD % n for n in ("7", "7", "10000")]
    with pytest.raises(ValueError):
        common.mysql_select_worlds(cast("list[int]", ["1; DROP TABLE world"]))


def test_mysqls_bulk_update_is_one_statement_with_each_id_and_its_number() -> None:
    sql = common.mysql_update_worlds(3)
    assert sql == (
        "UPDATE world SET randomnumber = CASE id WHEN %s THEN %s WHEN %s THEN %s WHEN %s THEN %s END"
        " WHERE id IN (%s, %s, %s)"
    )
    assert common.mysql_update_args([1, 5, 9], [10, 50, 90]) == [1, 10, 5, 50, 9, 90, 1, 5, 9]
    assert sql.count("%s") == len(common.mysql_update_args([1, 5, 9], [10, 50, 90]))
    assert common.mysql_update_worlds(3) is sql  # built once per row count


def test_an_ipv6_database_host_is_kept_bare() -> None:
    config = common.db_config_from_env({"LAB_DB_HOST": "fd00::10"})
    assert config.host == "fd00::10"


def test_the_apps_pass_the_database_host_as_a_parameter_never_in_a_url() -> None:
    # LAB_DB_HOST is the db host's lab_address, maybe IPv6: a URL would need it in brackets, and a connection
    # parameter (asyncpg's and psycopg's host=, SQLAlchemy's URL.create(host=), Django's HOST) takes it bare.
    sources = sorted(APPS_DIR.rglob("*.py"))
    uses = [
        (path, line.strip())
        for path in sources
        for line in path.read_text(encoding="utf-8").splitlines()
        if re.search(r"\b(config|CONFIG)\.host\b", line)
    ]
    assert uses, "no app reads the database host any more: update this test"
    for path, line in uses:
        assert re.fullmatch(r'(host=|"host": |"HOST": )(config|CONFIG)\.host,', line), f"{path}: {line}"
    assert not [
        path
        for path in sources
        if re.search(r"(postgres(ql)?|mysql)(\+\w+)?://", path.read_text(encoding="utf-8"))
    ]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1", "SELECT 1"),
        ("WHERE id = %s", "WHERE id = $1"),
        ("unnest(%s::integer[]), unnest(%s::integer[])", "unnest($1::integer[]), unnest($2::integer[])"),
    ],
)
def test_numbered_placeholders(sql: str, expected: str) -> None:
    assert common.numbered_placeholders(sql) == expected


def test_asyncpg_sql_is_the_shared_sql_renumbered() -> None:
    assert common.numbered_placeholders(common.UPDATE_WORLDS).count("$") == 2
    assert "%s" not in common.numbered_placeholders(common.SELECT_WORLD)


def test_the_name_rule_is_demo_datas() -> None:
    """The apps carry no labcore: their copy of the name rule must be labcore/demo_data.py's."""
    assert common.NAME_MAX == demo_data.NAME_MAX
    assert common.NAME_ALPHABET == demo_data.NAME_ALPHABET
    assert len(set(common.NAME_ALPHABET)) == len(common.NAME_ALPHABET) == 64


def test_every_row_name_is_asked_as_is() -> None:
    names = [demo_data.name(row_id) for row_id in (*range(1, 2001), demo_data.ROWS)]
    names.append(demo_data.absent_name())
    assert {len(n) for n in names} >= {1, demo_data.NAME_MAX}, (
        "the sample misses the shortest or longest names"
    )
    for name in names:
        assert common.lookup_name_param(name) == (name, True)


@pytest.mark.parametrize(
    "raw",
    [
        "a" * (demo_data.NAME_MAX + 1), "\x00", "a\x00", "a b", " a", "a\n", "a.b", "a%20b", "%", "日本",
        "na\u00efve", "\ufffd", "\udcff", "\uff21", "a/b", "a'b", 'a"b', "a\\b", "a;b", "\u0663",
    ],
)  # fmt: skip
def test_a_name_outside_the_rule_is_not_asked(raw: str) -> None:
    assert common.lookup_name_param(raw) == (raw, False)


def test_the_longest_name_is_asked() -> None:
    name = common.NAME_ALPHABET[::-1] * 4  # 256 characters
    assert common.lookup_name_param(name[: common.NAME_MAX]) == (name[: common.NAME_MAX], True)
    assert common.lookup_name_param(name) == (name, False)


@pytest.mark.parametrize("raw", [None, ""])
def test_no_name_asks_a_random_name_of_the_rule(raw: str | None) -> None:
    drawn = [common.lookup_name_param(raw) for _ in range(3000)]
    assert all(askable for _, askable in drawn)
    names = [name for name, _ in drawn]
    rule = re.compile(f"[{re.escape(demo_data.NAME_ALPHABET)}]{{1,{demo_data.NAME_MAX}}}")
    assert all(rule.fullmatch(name) for name in names)
    lengths = {len(name) for name in names}
    # Lengths uniform in 1..255: 3000 draws miss a given length with a chance of (254/255)**3000, about 1e-5.
    assert min(lengths) <= 5 and max(lengths) >= demo_data.NAME_MAX - 5 and len(lengths) > 200
    assert set("".join(names)) == set(demo_data.NAME_ALPHABET)


def test_the_lookup_answer() -> None:
    assert common.lookup_answer("abc", True) == {"name": "abc", "found": True}
    assert common.lookup_answer("a b", False) == {"name": "a b", "found": False}


def test_the_lookup_sql_is_one_indexed_equality_on_demo_data() -> None:
    sql = common.SELECT_DEMO_NAME
    assert sql == f"SELECT id FROM {demo_data.TABLE} WHERE name = %s LIMIT 1"
    assert common.numbered_placeholders(sql).endswith("WHERE name = $1 LIMIT 1")
