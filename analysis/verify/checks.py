"""A check is one rule applied to one URL: its grade, and why (docs/test-types.md §3.1 "Grades")."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, cast

Grade = Literal["pass", "warn", "fail"]
GRADES: tuple[Grade, ...] = ("pass", "warn", "fail")


@dataclass(frozen=True)
class Check:
    name: str
    grade: Grade
    url: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> Check:
        grade = str(obj["grade"])
        if grade not in GRADES:
            raise ValueError(f"check {obj.get('name')!r}: grade {grade!r} is not one of {GRADES}")
        return cls(str(obj["name"]), grade, str(obj["url"]), str(obj["reason"]))


def passed(name: str, url: str, reason: str) -> Check:
    return Check(name, "pass", url, reason)


def warned(name: str, url: str, reason: str) -> Check:
    return Check(name, "warn", url, reason)


def failed(name: str, url: str, reason: str) -> Check:
    return Check(name, "fail", url, reason)


def worst(grades: Iterable[Grade]) -> Grade:
    """fail if any is fail, else warn if any is warn, else pass (also for no grades at all)."""
    seen = set(grades)
    for grade in ("fail", "warn"):
        if grade in seen:
            return cast(Grade, grade)
    return "pass"


def type_grade(checks: Iterable[Check]) -> Grade:
    """A test type's grade: the worst of its checks. A type without any check was not verified: fail."""
    grades = [c.grade for c in checks]
    return worst(grades) if grades else "fail"
