"""The reports' HTML: the Jinja templates of analysis/templates, rendered from a context."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
GRADES = ("pass", "warn", "fail")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["grade_class"] = lambda grade: f"grade-{grade}" if grade in GRADES else "grade-none"
    return env


def render(template: str, context: Mapping[str, Any]) -> str:
    return _environment().get_template(template).render(**context)
