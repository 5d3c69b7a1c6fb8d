"""The lab's upstream service: answers GET /delay?ms=N after N milliseconds, as a slow backend would.

The /upstream scenario of the apps calls it (apps/_common/scenarios.py). One aiohttp process on uvloop: the
delay is an awaited sleep, so thousands of requests can wait at once and the service itself stays cheap.

    python lab_upstream.py --host 127.0.0.1 --port 8091 --latency-ms 50

`ms`: an ASCII integer clamped to 0..5000; missing gives --latency-ms, anything else gives 0 (the rule of
the apps' scenario parameters). Answers {"delay_ms": N, "message": "Hello from upstream"}.
"""

from __future__ import annotations

import argparse
import asyncio
import re

from aiohttp import web

MS_MIN, MS_MAX = 0, 5000
_INTEGER = re.compile(r"[+-]?[0-9]+")


def delay_ms(raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        return MS_MIN
    try:
        value = int(raw)
    except ValueError:  # more digits than int() accepts
        return MS_MIN if raw.startswith("-") else MS_MAX
    return min(max(value, MS_MIN), MS_MAX)


def create_app(latency_ms: int) -> web.Application:
    async def delay(request: web.Request) -> web.Response:
        ms = delay_ms(request.query.get("ms"), latency_ms)
        await asyncio.sleep(ms / 1000)
        body = b'{"delay_ms":%d,"message":"Hello from upstream"}' % ms
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/delay", delay)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8091, help="port to listen on (default: %(default)s)")
    parser.add_argument(
        "--latency-ms", type=int, default=50, help="delay when a request gives no ms (default: %(default)s)"
    )
    parser.add_argument("--backlog", type=int, default=4096, help="listen queue (default: %(default)s)")
    args = parser.parse_args()
    if not MS_MIN <= args.latency_ms <= MS_MAX:
        parser.error(f"--latency-ms={args.latency_ms} is out of range; allowed: {MS_MIN}..{MS_MAX}")
    try:
        import uvloop
    except ImportError:  # the plain asyncio loop works too, only slower
        loop = asyncio.new_event_loop()
    else:
        loop = uvloop.new_event_loop()
    web.run_app(
        create_app(args.latency_ms),
        host=args.host,
        port=args.port,
        backlog=args.backlog,
        access_log=None,
        print=None,
        loop=loop,
    )


if __name__ == "__main__":
    main()
