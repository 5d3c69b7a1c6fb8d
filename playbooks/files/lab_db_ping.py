#!/usr/bin/env python3
"""Is the lab's database answering? Run on an app host (stdlib only, like pg_isready, which app hosts lack).

    lab_db_ping.py [--engine postgres|mysql] --host HOST --port PORT --user USER --dbname DB [--wait SECONDS]

Postgres: opens a TCP connection and sends a protocol-3 startup message, then reads the server's first answer:
an authentication request means the server accepts connections (exit 0); anything else (refused, timeout, an
ErrorResponse such as "the database system is starting up" or "no pg_hba.conf entry") means the app cannot use
it (exit 1). No password is sent: the connection is closed at the authentication request, which Postgres does
not log. MySQL family: the server speaks first; its handshake means it accepts connections, an error packet
(e.g. "Host ... is not allowed to connect", "Too many connections") that the app cannot use it. Either way it
retries every half second until --wait seconds have passed.

Prints one line: "accepting connections at HOST:PORT" or "database unreachable at HOST:PORT: <why>" (an IPv6
HOST in brackets).
"""

from __future__ import annotations

import argparse
import socket
import struct
import sys
import time

PROTOCOL_3 = 196608
RETRY_S = 0.5
# The first byte of each reply the server may send to a startup message.
AUTHENTICATION = b"R"
ERROR_RESPONSE = b"E"
NEGOTIATE_VERSION = b"v"


class ProbeError(Exception):
    """The server cannot be used; the message says why."""


def startup_message(user: str, dbname: str) -> bytes:
    params = f"user\0{user}\0database\0{dbname}\0\0".encode()
    body = struct.pack("!i", PROTOCOL_3) + params
    return struct.pack("!i", len(body) + 4) + body


def error_fields(payload: bytes) -> dict[str, str]:
    """The fields of an ErrorResponse body: {"S": "FATAL", "C": "57P03", "M": "..."}."""
    fields: dict[str, str] = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", errors="replace")
    return fields


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise ProbeError("the server closed the connection without answering")
        data += chunk
    return data


def probe_once(host: str, port: int, user: str, dbname: str, timeout_s: float) -> None:
    """Returns when the server asks for authentication; raises ProbeError otherwise."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            sock.sendall(startup_message(user, dbname))
            kind = _read_exactly(sock, 1)
            if kind not in (AUTHENTICATION, NEGOTIATE_VERSION, ERROR_RESPONSE):
                raise ProbeError(f"unexpected reply {kind!r} to the startup message")
            # The whole message is read before closing: unread data would turn the close into a reset, which
            # Postgres logs ("could not receive data from client").
            (length,) = struct.unpack("!i", _read_exactly(sock, 4))
            payload = _read_exactly(sock, max(0, length - 4))
            if kind != ERROR_RESPONSE:
                return
            fields = error_fields(payload)
    except OSError as exc:
        raise ProbeError(exc.strerror or str(exc) or type(exc).__name__) from exc
    severity, code = fields.get("S", "ERROR"), fields.get("C", "")
    raise ProbeError(f"{severity} {code}: {fields.get('M', 'no message')}")


# The MySQL family's first packet: 3-byte length, sequence number, then the protocol version (10) of a
# handshake, or 0xFF and a 2-byte error code before the message of an error packet.
MYSQL_HANDSHAKE_V10 = 10
MYSQL_ERROR = 0xFF


def probe_once_mysql(host: str, port: int, timeout_s: float) -> None:
    """Returns when the server greets with its handshake; raises ProbeError otherwise."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            header = _read_exactly(sock, 4)
            payload = _read_exactly(sock, int.from_bytes(header[:3], "little"))
    except OSError as exc:
        raise ProbeError(exc.strerror or str(exc) or type(exc).__name__) from exc
    if payload[:1] == bytes([MYSQL_HANDSHAKE_V10]):
        return
    if payload[:1] == bytes([MYSQL_ERROR]) and len(payload) >= 3:
        code = int.from_bytes(payload[1:3], "little")
        raise ProbeError(f"error {code}: {payload[3:].decode('utf-8', errors='replace')}")
    raise ProbeError(f"unexpected greeting {payload[:1]!r}: not a MySQL-family server")


def host_port(host: str, port: int) -> str:
    """host:port as the messages write it: an IPv6 address in brackets, [fd00::10]:5432."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def probe(
    host: str, port: int, user: str, dbname: str, wait_s: float, engine: str = "postgres"
) -> tuple[bool, str]:
    deadline = time.monotonic() + wait_s
    where = host_port(host, port)
    timeout_s = max(1.0, min(5.0, wait_s))
    while True:
        try:
            if engine == "mysql":
                probe_once_mysql(host, port, timeout_s)
            else:
                probe_once(host, port, user, dbname, timeout_s)
            return True, f"accepting connections at {where}"
        except ProbeError as exc:
            problem = str(exc)
        if time.monotonic() >= deadline:
            waited = f" (waited {wait_s:g} s)" if wait_s > 0 else ""
            return False, f"database unreachable at {where}{waited}: {problem}"
        time.sleep(RETRY_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="lab_db_ping.py", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--engine", choices=("postgres", "mysql"), default="postgres")
    parser.add_argument("--host", required=True, help="an IP address (IPv6 without brackets) or a host name")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--dbname", required=True)
    parser.add_argument("--wait", type=float, default=0.0, help="seconds to keep retrying (default 0)")
    args = parser.parse_args(argv)
    ok, line = probe(args.host, args.port, args.user, args.dbname, args.wait, args.engine)
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
