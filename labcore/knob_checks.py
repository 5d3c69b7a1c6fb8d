"""What the database roles' knob checks have in common: a numeric knob's range and its message.

roles/postgres and roles/mariadb check their own knobs in their filter plugins (also called by
roles/lab_settings before any host changes); the messages say the knob, its value and what is allowed, alike
for both engines.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Number:
    """A knob's range; zero says what 0 means, None when 0 is out of range."""

    minimum: int
    maximum: int
    zero: str | None
    why: str


def show(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def integer(value: Any) -> int | None:
    """value as an int: an int, or a string of digits as -e gives it; never a bool or a float."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value.strip()):
        return int(value)
    return None


def number_problem(name: str, value: Any, rule: Number) -> str:
    """The message for a knob out of its range ("" when it is in)."""
    allowed = f"{rule.minimum}..{rule.maximum} ({rule.why})"
    if rule.zero is not None:
        allowed = f"0 ({rule.zero}) or {allowed}"
    number = integer(value)
    if number is None:
        return f"{name}={show(value)} is not an integer; allowed: {allowed}."
    if (number == 0 and rule.zero is not None) or rule.minimum <= number <= rule.maximum:
        return ""
    return f"{name}={show(value)} is out of range; allowed: {allowed}."
