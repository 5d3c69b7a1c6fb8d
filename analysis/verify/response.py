"""One HTTP exchange as the grading functions see it: no sockets here, so they are pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Response:
    url: str
    status: int = 0
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    # When the response was complete (time.monotonic()); the Date freshness check needs the spacing.
    received_at: float = 0.0
    # Set when no HTTP response came back (refused, reset, timed out, unparseable status line).
    error: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None
