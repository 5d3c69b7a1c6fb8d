"""The fortunes page compared after normalization (docs/test-types.md §2.4 "The fortunes page", §3.3 "What
warns and what fails").

Both the received page and the page the rules describe go through the same normalizer, which keeps what the
rules fix and drops what they leave free:

- tags keep their name only (attributes dropped, names lower-cased); the doctype is lower-cased;
- text that is only whitespace between tags is dropped; other text is kept exactly (whitespace inside a cell
  is significant), with adjacent pieces joined;
- the allowed escapes all mean their character: the named ``&lt; &gt; &amp; &quot; &apos; &mdash;``, and
  numeric references (decimal or hex) to ``" ' + < > / ( )``; raw ``" ' >`` in text are fine as they are;
- any other numeric reference stays as written, so it cannot match: non-ASCII text must be sent as UTF-8;
- comments are dropped.

A raw ``<script>`` in a cell is parsed as a tag, so an unescaped page never matches.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

from .rules import EXTRA_FORTUNE, FORTUNES

_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'", "mdash": "\u2014"}
_NUMERIC_ALLOWED = frozenset("\"'+<>/()")
_HTML_SPACE = " \t\n\r\f"


class _Normalizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.tokens: list[str] = []
        self._text: list[str] = []

    def _flush(self) -> None:
        text = "".join(self._text)
        self._text = []
        if text.strip(_HTML_SPACE):
            self.tokens.append(text)

    def _tag(self, token: str) -> None:
        self._flush()
        self.tokens.append(token)

    def handle_decl(self, decl: str) -> None:
        self._tag(f"<!{' '.join(decl.lower().split())}>")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(f"<{tag}>")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._tag(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        self._tag(f"</{tag}>")

    def handle_pi(self, data: str) -> None:
        self._tag(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self._tag(f"<![{data}]>")

    def handle_data(self, data: str) -> None:
        self._text.append(data)

    def handle_entityref(self, name: str) -> None:
        self._text.append(_NAMED.get(name, f"&{name};"))

    def handle_charref(self, name: str) -> None:
        try:
            char = chr(int(name[1:], 16) if name[:1] in ("x", "X") else int(name))
        except (ValueError, OverflowError):
            char = ""
        self._text.append(char if char in _NUMERIC_ALLOWED else f"&#{name};")

    def close(self) -> None:
        super().close()
        self._flush()


def normalize(page: str) -> list[str]:
    """The page as a list of tokens: `<tag>`, `</tag>`, `<!doctype html>` and text."""
    parser = _Normalizer()
    parser.feed(page)
    parser.close()
    return parser.tokens


def expected_rows() -> list[tuple[int, str]]:
    """The 12 rows plus the request-time one, sorted by message (plain string order)."""
    return sorted([*FORTUNES, EXTRA_FORTUNE], key=lambda row: row[1])


def expected_page() -> str:
    rows = "".join(f"<tr><td>{i}</td><td>{html.escape(m)}</td></tr>" for i, m in expected_rows())
    return (
        "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
        f"<tr><th>id</th><th>message</th></tr>{rows}</table></body></html>"
    )


def _quote(token: str | None) -> str:
    if token is None:
        return "the end of the page"
    return repr(token if len(token) <= 90 else token[:87] + "...")


def first_difference(page: str) -> str | None:
    """None when the page matches the rules after normalization, else where and how it first differs."""
    want = normalize(expected_page())
    got = normalize(page)
    for index in range(max(len(want), len(got))):
        w = want[index] if index < len(want) else None
        g = got[index] if index < len(got) else None
        if w != g:
            after = f" after {_quote(want[index - 1])}" if index else ""
            return f"token {index}{after}: expected {_quote(w)}, got {_quote(g)}"
    return None
