"""The load of the database-hit check: a fixed number of GETs, that many at once (stdlib threads)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .fetch import fetch
from .rules import LOAD_CONCURRENCY, LOAD_REQUESTS


@dataclass(frozen=True)
class LoadResult:
    url: str
    requests: int
    concurrency: int
    ok: int
    seconds: float
    # What the requests that did not get a 200 got instead ("status 502", "timed out", ...) and how often.
    failures: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "requests": self.requests,
            "concurrency": self.concurrency,
            "ok": self.ok,
            "seconds": round(self.seconds, 3),
            "failures": self.failures,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> LoadResult:
        return cls(
            url=str(obj["url"]),
            requests=int(obj["requests"]),
            concurrency=int(obj["concurrency"]),
            ok=int(obj["ok"]),
            seconds=float(obj["seconds"]),
            failures={str(k): int(v) for k, v in (obj.get("failures") or {}).items()},
        )


def run_load(
    url: str,
    accept: str,
    requests: int = LOAD_REQUESTS,
    concurrency: int = LOAD_CONCURRENCY,
    timeout: float = 60.0,
) -> LoadResult:
    """Send `requests` GETs to url, `concurrency` at a time, each on its own connection."""

    def one(_: int) -> str | None:
        resp = fetch(url, accept, timeout)
        if resp.error is not None:
            return resp.error
        return None if resp.status == 200 else f"status {resp.status}"

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="verify-load") as pool:
        outcomes = list(pool.map(one, range(requests)))
    seconds = time.monotonic() - start
    failures = Counter(o for o in outcomes if o is not None)
    return LoadResult(url, requests, concurrency, requests - sum(failures.values()), seconds, dict(failures))
