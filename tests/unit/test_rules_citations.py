"""The lab's rules live in docs/test-types.md and the tree cites them there, by sections that exist.

The reference the project started from is not part of the repository, so a citation of it points nowhere;
a citation of docs/test-types.md names a section number, and usually its heading, that must both be in the
doc. The tree is what git sees (tracked files and new ones it does not ignore), which leaves out .venv, .git,
results/ and caches.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOC = "docs/test-types.md"
# Spelled in two pieces, so that this file does not cite it itself.
OLD_REFERENCE = "benchmark" + "-rules"
HEADING = re.compile(r"^#{2,3} (\d+(?:\.\d+)?)\.? (.+?)\s*$", re.MULTILINE)
# §N or §N.M, and the quoted heading when one follows (a citation may be wrapped over two lines).
SECTION = re.compile(r'§(\d+(?:\.\d+)*)(?:\s+"([^"\n]+)")?')


def tree_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    paths = [REPO / name for name in listed.split("\0") if name]
    return [p for p in paths if p.is_file() and p.relative_to(REPO).parts[0] not in (".venv", ".git")]


def sections(doc_text: str) -> dict[str, str]:
    """{"4": "Load sequence", "4.2": "The runs of one test type", ...} from the doc's numbered headings."""
    return {number: title for number, title in HEADING.findall(doc_text)}


def citations(text: str) -> list[tuple[str, str | None]]:
    """Every §N of a text that cites the doc, with the heading quoted after it (None when there is none)."""
    if DOC not in text:
        return []
    return [(number, title or None) for number, title in SECTION.findall(text)]


def bad_citations(text: str, known: dict[str, str]) -> list[str]:
    problems = []
    for number, title in citations(text):
        if number not in known:
            problems.append(f"§{number}: no such section")
        elif title is not None and title != known[number]:
            problems.append(f'§{number} "{title}": the section is "{known[number]}"')
    return problems


@pytest.fixture(scope="module")
def known() -> dict[str, str]:
    return sections((REPO / DOC).read_text(encoding="utf-8"))


def test_the_doc_numbers_its_sections_in_order(known: dict[str, str]) -> None:
    numbers = list(known)
    top = [n for n in numbers if "." not in n]
    assert top == [str(i) for i in range(1, len(top) + 1)], top
    for number in numbers:
        parent, _, sub = number.partition(".")
        assert parent in known, number
        if sub:
            siblings = [n for n in numbers if n.startswith(parent + ".")]
            assert siblings == [f"{parent}.{i}" for i in range(1, len(siblings) + 1)], siblings


def test_no_file_cites_the_old_reference() -> None:
    citing = [
        str(path.relative_to(REPO)) for path in tree_files() if OLD_REFERENCE.encode() in path.read_bytes()
    ]
    assert citing == [], f"cite {DOC} instead of {OLD_REFERENCE}.md in: {citing}"


def test_every_citation_names_a_section_of_the_doc(known: dict[str, str]) -> None:
    problems = []
    cited = 0
    for path in tree_files():
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        found = citations(text)
        cited += len(found)
        problems += [f"{path.relative_to(REPO)}: {p}" for p in bad_citations(text, known)]
    assert problems == []
    # The tree does cite the doc: a pattern that matched nothing would pass whatever the citations say.
    assert cited > 20


def test_a_wrong_citation_is_found(known: dict[str, str]) -> None:
    # The section sign as an escape: written out, these citations would be wrong ones in this file.
    s = "\u00a7"
    text = f'see {DOC} {s}4 "Load sequence", {s}4.2 "The runs of one test type", {s}3 "Grading" and {s}99.'
    assert bad_citations(text, known) == [
        f'{s}3 "Grading": the section is "Verification"',
        f"{s}99: no such section",
    ]
    assert bad_citations(f"{s}99 in a file that does not cite the doc", known) == []
