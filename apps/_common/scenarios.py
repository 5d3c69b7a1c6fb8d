"""The scenario routes of every app: /sleep, /cpu and /upstream (apps/README.md, "Scenario routes").

These are not TechEmpower test types. They show how a server model copes with a request that waits (a sleep,
a call to a slow upstream service) or that computes, so every app answers them the same way from here:

- the parameter rule: ``ms`` and ``n`` must be ASCII integers; missing, empty, anything else or below the
  minimum gives the minimum, above the maximum gives the maximum. No input gives a 5xx.
- the CPU workload, defined once (``cpu_work``), so every framework does exactly the same work.
- the upstream call: the URL comes from ``LAB_UPSTREAM_URL`` (read once, at import); the sync client is
  ``httpx.Client`` and the async one ``httpx.AsyncClient``, the two faces of one library, so a difference
  between configurations is the server model's and not the client library's.

A sync app always calls the upstream with the sync client. An async app uses the async client unless the
request asks for ``client=sync``: then it calls the sync client inline and blocks its event loop, on purpose,
because that is the mistake the scenario measures. Each response says which client served it.

Stdlib only at import: httpx is imported by the first /upstream request, after the server forked (and after
gevent patched the standard library, where a gevent worker does that).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

SLEEP_MS_MIN, SLEEP_MS_MAX = 0, 5000
CPU_N_MIN, CPU_N_MAX = 1, 1_000_000
UPSTREAM_MS_MIN, UPSTREAM_MS_MAX = 0, 5000
CLIENTS = ("sync", "async")
# Seconds: above the longest upstream delay, below wrk's default --timeout of the lab (8 s).
UPSTREAM_TIMEOUT_S = 7.0
# Idle keep-alive connections per worker towards the upstream; connections in use are not limited.
UPSTREAM_KEEPALIVE = 1024

_MODULUS = 1_000_000_007
_INTEGER = re.compile(r"[+-]?[0-9]+")

Answer = tuple[int, bytes]
"""(HTTP status, JSON body): what a scenario handler returns; the app wraps it in its response type."""


def clamped_int(raw: str | None, low: int, high: int) -> int:
    """The parameter rule: an ASCII integer clamped to low..high; missing, empty or anything else -> low."""
    if not raw or not _INTEGER.fullmatch(raw):
        return low
    try:
        value = int(raw)
    except ValueError:  # more digits than int() accepts: a huge number
        return low if raw.startswith("-") else high
    return min(max(value, low), high)


def sleep_ms(raw: str | None) -> int:
    return clamped_int(raw, SLEEP_MS_MIN, SLEEP_MS_MAX)


def cpu_n(raw: str | None) -> int:
    return clamped_int(raw, CPU_N_MIN, CPU_N_MAX)


def upstream_ms(raw: str | None) -> int:
    return clamped_int(raw, UPSTREAM_MS_MIN, UPSTREAM_MS_MAX)


def cpu_work(n: int) -> int:
    """The CPU scenario's workload: n rounds of integer arithmetic run by the interpreter itself.

    No C function does the loop, so it holds the GIL for its whole length (about 0.1 to 0.2 µs a round on a
    current x86 core): threads and greenlets cannot overlap it, only processes can.
    """
    acc = 0
    for i in range(n):
        acc = (acc * 31 + i) % _MODULUS
    return acc


# --- handlers: what the routes of the apps call --------------------------------------------------------


def sleep_sync(raw_ms: str | None) -> bytes:
    """/sleep in a sync app: blocks the thread (or, under a gevent-patched worker, only the greenlet)."""
    ms = sleep_ms(raw_ms)
    time.sleep(ms / 1000)
    return _sleep_body(ms)


async def sleep_async(raw_ms: str | None) -> bytes:
    """/sleep in an async app: awaits, the event loop serves other requests meanwhile."""
    ms = sleep_ms(raw_ms)
    await asyncio.sleep(ms / 1000)
    return _sleep_body(ms)


def cpu(raw_n: str | None) -> bytes:
    """/cpu in every app, sync or async (an async app computes on its event loop, as real code would)."""
    n = cpu_n(raw_n)
    return b'{"n":%d,"result":%d}' % (n, cpu_work(n))


def upstream_sync(raw_ms: str | None) -> Answer:
    """/upstream in a sync app: the sync client, whatever `client` asks for (the body says "sync")."""
    return _call_sync(upstream_ms(raw_ms))


async def upstream_async(raw_ms: str | None, raw_client: str | None = None) -> Answer:
    """/upstream in an async app: the async client; `client=sync` calls the sync client on the event loop."""
    ms = upstream_ms(raw_ms)
    if raw_client == "sync":
        return _call_sync(ms)
    return await _call_async(ms)


ROUTES = ("/sleep", "/cpu", "/upstream")


def expected_body(route: str, params: Mapping[str, str | None], native: str) -> dict[str, Any]:
    """The JSON object a scenario route answers for these query parameters, in an app of kind `native`.

    native: "sync" (WSGI apps) or "async" (asyncio apps); it decides the upstream client. /upstream answers
    this object plus "upstream", the upstream service's own answer: {"delay_ms": ms, "message": ...}.
    """
    if route == "/sleep":
        return {"slept_ms": sleep_ms(params.get("ms"))}
    if route == "/cpu":
        n = cpu_n(params.get("n"))
        return {"n": n, "result": cpu_work(n)}
    if route == "/upstream":
        client = "sync" if native == "sync" or params.get("client") == "sync" else "async"
        return {"client": client, "ms": upstream_ms(params.get("ms"))}
    raise ValueError(f"route must be one of {ROUTES}, not {route!r}")


def answer_problems(
    route: str, params: Mapping[str, str | None], native: str, status: int, content_type: str, body: bytes
) -> list[str]:
    """What is wrong with a scenario route's answer (an empty list: nothing). For verifiers and tests."""
    if status != 200:
        return [f"{route}: status {status}, expected 200 ({body[:200]!r})"]
    if content_type.split(";")[0].strip().lower() != "application/json":
        return [f"{route}: Content-Type {content_type!r}, expected application/json"]
    try:
        answer = json.loads(body)
    except ValueError:
        return [f"{route}: the body is not JSON: {body[:200]!r}"]
    expected = expected_body(route, params, native)
    if route == "/upstream":
        upstream = answer.pop("upstream", None) if isinstance(answer, dict) else None
        if not isinstance(upstream, dict) or upstream.get("delay_ms") != expected["ms"]:
            return [f"{route}: upstream part {upstream!r}, expected delay_ms {expected['ms']}"]
    if answer != expected:
        return [f"{route}: body {answer!r}, expected {expected!r}"]
    return []


# --- the upstream clients ------------------------------------------------------------------------------


def upstream_url(environ: Mapping[str, str] = os.environ) -> str:
    """LAB_UPSTREAM_URL without a trailing slash; empty when the app host has no upstream configured."""
    return environ.get("LAB_UPSTREAM_URL", "").rstrip("/")


UPSTREAM_URL = upstream_url()

_sync_client: Any = None
_sync_client_lock = threading.Lock()
_async_client: Any = None


def _sleep_body(ms: int) -> bytes:
    return b'{"slept_ms":%d}' % ms


def _error(status: int, message: str) -> Answer:
    escaped = message.replace("\\", "\\\\").replace('"', '\\"')
    return status, f'{{"error":"{escaped}"}}'.encode()


def _upstream_answer(client: str, ms: int, status: int, body: bytes) -> Answer:
    if status != 200:
        return _error(502, f"the upstream answered {status}")
    return 200, b'{"client":"%s","ms":%d,"upstream":%s}' % (client.encode(), ms, body)


def _not_configured() -> Answer:
    return _error(503, "LAB_UPSTREAM_URL is not set: this app host has no upstream service")


def _limits() -> Any:
    import httpx

    return httpx.Limits(max_connections=None, max_keepalive_connections=UPSTREAM_KEEPALIVE)


def _get_sync_client() -> Any:
    global _sync_client
    if _sync_client is None:
        with _sync_client_lock:  # gthread: the first requests may arrive on several threads at once
            if _sync_client is None:
                import httpx

                _sync_client = httpx.Client(timeout=UPSTREAM_TIMEOUT_S, limits=_limits())
    return _sync_client


def _get_async_client() -> Any:
    """One AsyncClient per worker process, created in (and bound to) the worker's event loop."""
    global _async_client
    if _async_client is None:
        import httpx

        _async_client = httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT_S, limits=_limits())
    return _async_client


def _call_sync(ms: int) -> Answer:
    if not UPSTREAM_URL:
        return _not_configured()
    import httpx

    try:
        response = _get_sync_client().get(f"{UPSTREAM_URL}/delay", params={"ms": ms})
    except httpx.HTTPError as e:
        return _error(502, f"the upstream {UPSTREAM_URL} failed: {type(e).__name__}")
    return _upstream_answer("sync", ms, response.status_code, response.content)


async def _call_async(ms: int) -> Answer:
    if not UPSTREAM_URL:
        return _not_configured()
    import httpx

    try:
        response = await _get_async_client().get(f"{UPSTREAM_URL}/delay", params={"ms": ms})
    except httpx.HTTPError as e:
        return _error(502, f"the upstream {UPSTREAM_URL} failed: {type(e).__name__}")
    return _upstream_answer("async", ms, response.status_code, response.content)


# --- checking a running app (the check before load: roles/benchmark/tasks/verify_scenarios.yml) -----


def fetch(url: str, timeout: float) -> tuple[int, str, bytes]:
    """GET url: (status, Content-Type, body), also for a non-2xx answer."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


def check_routes(
    base_url: str, paths: Mapping[str, str], native: str, timeout: float = 10
) -> dict[str, list[str]]:
    """{name: problems} for each scenario path (e.g. {"sleep": "/sleep?ms=50"}) of the app at base_url."""
    results: dict[str, list[str]] = {}
    for name, path in paths.items():
        parts = urllib.parse.urlsplit(path)
        params = {k: v[0] for k, v in urllib.parse.parse_qs(parts.query, keep_blank_values=True).items()}
        try:
            status, content_type, body = fetch(base_url.rstrip("/") + path, timeout)
        except OSError as e:
            results[name] = [f"{parts.path}: no answer from {base_url}: {e}"]
            continue
        results[name] = answer_problems(parts.path, params, native, status, content_type, body)
    return results


def main(argv: list[str] | None = None) -> int:
    """python3 scenarios.py check BASE_URL --native sync|async NAME=PATH...: JSON grades on stdout."""
    parser = argparse.ArgumentParser(prog="scenarios.py", description="Check the scenario routes of an app.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="GET each path and check the answer")
    check.add_argument("base_url", help="e.g. http://127.0.0.1:8080")
    check.add_argument("--native", choices=CLIENTS, required=True, help="sync (WSGI apps) or async")
    check.add_argument("--timeout", type=float, default=10.0)
    check.add_argument("routes", nargs="+", metavar="NAME=PATH", help="e.g. sleep=/sleep?ms=50")
    args = parser.parse_args(argv)
    paths = dict(route.split("=", 1) for route in args.routes if "=" in route)
    if len(paths) != len(args.routes):
        parser.error(f"every route must be NAME=PATH, got {args.routes}")
    problems = check_routes(args.base_url, paths, args.native, args.timeout)
    grades = {name: "fail" if found else "pass" for name, found in problems.items()}
    print(json.dumps({"grades": grades, "problems": problems}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
