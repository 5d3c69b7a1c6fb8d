"""A minimal HTTP CONNECT proxy, so pip inside the lab's namespaces reaches PyPI (they have no route out).

    python -m tests.multihost.connect_proxy --listen 10.213.0.1:3128 --allow pypi.org:443 [--allow ...]
                                             [--pidfile FILE] [--log FILE]

It listens on the controller's bridge address and tunnels CONNECT requests to the allowed host:port pairs
only (everything else gets 403), one line per tunnel in the log. Plain-HTTP proxying is not offered: the lab
hosts' apt packages are installed before the namespaces are used, and pip talks HTTPS.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path

HEADER_LIMIT = 16384
IDLE_TIMEOUT_S = 300.0


class Proxy:
    def __init__(self, allowed: set[tuple[str, int]], log_path: Path | None) -> None:
        self.allowed = allowed
        self.log_path = log_path

    def log(self, line: str) -> None:
        if self.log_path is not None:
            with open(self.log_path, "a", encoding="utf-8") as handle:
                handle.write(f"{time.strftime('%H:%M:%S')} {line}\n")

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=30)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            writer.close()
            return
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        target = self._target(parts)
        if target is None:
            self.log(f"{peer[0]} refused: {request_line!r}")
            writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*target), timeout=30)
        except (OSError, TimeoutError) as exc:
            self.log(f"{peer[0]} {target[0]}:{target[1]} unreachable: {exc}")
            writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        self.log(f"{peer[0]} CONNECT {target[0]}:{target[1]}")
        writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        await writer.drain()
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    def _target(self, parts: list[str]) -> tuple[str, int] | None:
        if len(parts) != 3 or parts[0] != "CONNECT" or ":" not in parts[1]:
            return None
        host, _, port = parts[1].rpartition(":")
        if not port.isdigit() or (host.lower(), int(port)) not in self.allowed:
            return None
        return host, int(port)

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await asyncio.wait_for(reader.read(65536), timeout=IDLE_TIMEOUT_S):
                writer.write(data)
                await writer.drain()
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        finally:
            with contextlib.suppress(OSError):
                writer.close()


def _parse_allow(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"--allow must be host:port, got {value!r}")
    return host.lower(), int(port)


async def serve(listen: tuple[str, int], proxy: Proxy) -> None:
    server = await asyncio.start_server(proxy.handle, *listen, limit=HEADER_LIMIT)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.multihost.connect_proxy", description=__doc__)
    parser.add_argument("--listen", type=_parse_allow, required=True, help="address:port to listen on")
    parser.add_argument("--allow", type=_parse_allow, action="append", required=True, help="host:port")
    parser.add_argument("--pidfile", type=Path)
    parser.add_argument("--log", type=Path)
    args = parser.parse_args(argv)
    if args.pidfile is not None:
        args.pidfile.write_text(f"{os.getpid()}\n")
    try:
        asyncio.run(serve(args.listen, Proxy(set(args.allow), args.log)))
    finally:
        if args.pidfile is not None:
            args.pidfile.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
