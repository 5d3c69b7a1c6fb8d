"""The fortunes page after normalization: what may differ (markup, allowed escapes) and what may not."""

from __future__ import annotations

import html

import pytest

from analysis.verify.fortunes import expected_page, expected_rows, first_difference, normalize

ROWS = expected_rows()


def page(
    cell: str = "<tr><td>{id}</td><td>{message}</td></tr>",
    escape: bool = True,
    head: str = "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>",
    header: str = "<tr><th>id</th><th>message</th></tr>",
    tail: str = "</table></body></html>",
    rows: list[tuple[int, str]] | None = None,
) -> str:
    body = "".join(
        cell.format(id=i, message=html.escape(m) if escape else m)
        for i, m in (ROWS if rows is None else rows)
    )
    return head + header + body + tail


def test_the_rows_are_the_12_plus_the_extra_one_sorted_by_message() -> None:
    assert len(ROWS) == 13
    assert [m for _, m in ROWS] == sorted(m for _, m in ROWS)
    assert ROWS[0] == (11, '<script>alert("This should not be displayed in a browser alert box.");</script>')
    assert ROWS[-1] == (12, "フレームワークのベンチマーク")


def test_the_expected_page_matches_itself() -> None:
    assert first_difference(expected_page()) is None
    assert first_difference(page()) is None


@pytest.mark.parametrize(
    "variant",
    [
        # Markup the rules leave free: case, attributes, whitespace between tags, the doctype's case.
        page(head="<!doctype html>\n<html>\n<head><title>Fortunes</title></head>\n<body>\n<table>\n"),
        page(cell="\n  <tr>\n    <td>{id}</td>\n    <td>{message}</td>\n  </tr>"),
        page(cell='<TR class="row"><TD>{id}</TD><td style="x">{message}</td></TR>'),
        page(head='<!DOCTYPE html><html lang="en"><head><title id="t">Fortunes</title></head><body><table>'),
        page(head="<!DOCTYPE html><html><head><title>Fortunes</title></head><body><!-- the table --><table>"),
        # Allowed escapes: raw quotes, apostrophes and '>' in text, numeric forms of the escaped characters.
        page(escape=False).replace("<script>", "&lt;script&gt;").replace("</script>", "&lt;/script>"),
        page().replace("&#x27;", "&#39;").replace("&quot;", "&#34;"),
        page().replace("&#x27;", "&apos;").replace("&quot;", "&#x22;"),
        page().replace("&lt;", "&#60;").replace("&gt;", "&#x3E;"),
        page().replace("(", "&#40;").replace(")", "&#x29;").replace("+", "&#43;"),
        page().replace("\u2014", "&mdash;"),
    ],
)
def test_allowed_differences(variant: str) -> None:
    assert first_difference(variant) is None, normalize(variant)


@pytest.mark.parametrize(
    ("variant", "hint"),
    [
        (page(escape=False), "'<script>'"),  # the script row unescaped becomes a tag
        (page(rows=ROWS[1:]), "expected"),  # the request-time fortune missing
        (page(rows=sorted(ROWS)), "expected"),  # sorted by id, not by message
        (page(rows=[*ROWS, (13, "extra")]), "expected '</table>'"),
        (page(cell="<tr><td>{id}</td><td> {message}</td></tr>"), "expected"),  # whitespace in a cell counts
        (page(header="<tr><th>id</th><th>Message</th></tr>"), "'Message'"),
        (page(head="<html><head><title>Fortunes</title></head><body><table>"), "'<!doctype html>'"),
        (page(tail="</table></body>"), "'</html>'"),
        # Attributes are free, extra elements are not.
        (
            page(
                head='<!DOCTYPE html><html><head><meta charset="utf-8">'
                "<title>Fortunes</title></head><body><table>"
            ),
            "got '<meta>'",
        ),
        (
            page().replace("フレームワーク", "&#12501;&#12524;&#12540;&#12512;&#12527;&#12540;&#12463;"),
            "&#12501;",
        ),
        (page().replace("&lt;", "&#x3C;&#x3C;", 1), "expected"),
    ],
)
def test_differences_that_fail(variant: str, hint: str) -> None:
    difference = first_difference(variant)
    assert difference is not None and hint in difference, difference


def test_normalize_drops_attributes_and_whitespace_only_text() -> None:
    tokens = normalize('<!DOCTYPE  HTML>\n<Table border="1">\n <tr><td> a &amp; b </td></tr></table>')
    assert tokens == ["<!doctype html>", "<table>", "<tr>", "<td>", " a & b ", "</td>", "</tr>", "</table>"]
