"""labcore/demo_data.py without a database: the rows are the same everywhere (tests/apps checks the apps'
copy of the name rule against it)."""

from __future__ import annotations

import hashlib
import string

from labcore import demo_data


def test_the_first_thousand_names_are_pinned() -> None:
    # A change here changes every lab's table: bump demo_data.GENERATOR with it, so the loader reloads.
    digest = hashlib.sha256(b"".join(demo_data.name(i).encode() + b"\n" for i in range(1, 1001)))
    assert digest.hexdigest() == "969029f62450c0aeb15b0d949ca7439011595fc53e906fefd52a2d05c926ffe8"
    assert demo_data.GENERATOR in demo_data.comment(5) and "5 rows" in demo_data.comment(5)


def test_names_are_1_to_255_letters_of_the_alphabet_with_every_length() -> None:
    names = [demo_data.name(i) for i in range(1, 20_001)]
    assert set("".join(names)) == set(demo_data.NAME_ALPHABET)
    assert {len(n) for n in names} == set(range(1, demo_data.NAME_MAX + 1))
    assert demo_data.absent_name() not in names


def test_the_alphabet_needs_no_quoting() -> None:
    assert set(demo_data.NAME_ALPHABET) <= set(string.ascii_letters + string.digits + "_-")
    assert len(demo_data.NAME_ALPHABET) == 64


def test_copy_and_insert_text_carry_the_same_rows() -> None:
    copy = b"".join(demo_data.copy_text(5, batch=2)).decode().splitlines()
    assert [line.split("\t")[:2] for line in copy] == [[str(i), demo_data.name(i)] for i in range(1, 6)]
    assert copy[0].split("\t")[2:] == ["2026-01-01 00:00:01"] * 2
    inserts = list(demo_data.insert_text("t", 5, batch=2))
    assert len(inserts) == 3 and all(s.startswith(b"INSERT INTO t ") for s in inserts)
    assert f"(5,'{demo_data.name(5)}','2026-01-01 00:00:05','2026-01-01 00:00:05')".encode() in inserts[-1]
