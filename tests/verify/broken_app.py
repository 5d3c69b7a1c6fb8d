"""A small real HTTP server with the routes of the test types of docs/test-types.md §2 "Test types" (the six
TechEmpower types and the lookup): right, or with ONE rule broken.

    <app venv>/bin/python tests/verify/broken_app.py --port PORT --break NAME

It reads a real Postgres (LAB_DB_* like the apps, psycopg 3 from an app venv) through the stdlib's threading
HTTP server. Each break changes one thing and nothing else, so a test can say exactly which checks must not
pass. Prints "ready" once it listens and the pool is open.
"""

from __future__ import annotations

import argparse
import email.utils
import html
import json
import os
import random
import sys
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import psycopg_pool

BREAKS = {
    "none": "every rule kept",
    "no-server-header": "no Server header on any response",
    "cached-date": "the Date of the start on every response",
    "json-as-text": "/json sent as text/plain",
    "extra-json-key": '/json has a second key: {"message": ..., "extra": true}',
    "plaintext-newline": "/plaintext ends with a newline",
    "no-lower-clamp": "queries=0 and queries=-1 give an empty array",
    "no-upper-clamp": "queries=501 gives 501 rows",
    "unescaped-fortune": "fortune messages go into the page unescaped",
    "batched-queries": "/queries reads its rows with one SELECT ... WHERE id IN (...)",
    "updates-old-value": "/updates answers new values but writes the old ones back",
    "lookup-unindexed": "/lookup compares name || '' (the same answer, read by a scan instead of the index)",
    "lookup-case-blind": "/lookup compares lower(name) with lower(the name asked): a wrong name is found",
}
# The lookup's SQL per break: the right statement uses the name index.
LOOKUP_SQL = {
    "lookup-unindexed": "SELECT id FROM demo_data WHERE name || '' = %s LIMIT 1",
    "lookup-case-blind": "SELECT id FROM demo_data WHERE lower(name) = lower(%s) LIMIT 1",
}
EXTRA_FORTUNE = (0, "Additional fortune added at request time.")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    broken = "none"
    pool: psycopg_pool.ConnectionPool
    start_date = email.utils.formatdate(usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per request would only slow the load down

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        params = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        queries = params.get("queries", [None])[0]
        routes: dict[str, Callable[[], tuple[str, bytes]]] = {
            "/json": self.json,
            "/plaintext": self.plaintext,
            "/db": self.db,
            "/queries": lambda: self.queries(queries),
            "/fortunes": self.fortunes,
            "/updates": lambda: self.updates(queries),
            "/lookup": lambda: self.lookup(params.get("name", [""])[0]),
        }
        if url.path not in routes:
            self.send(404, "text/plain", b"not found")
            return
        content_type, body = routes[url.path]()
        self.send(200, content_type, body)

    def send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response_only(status)
        if self.broken != "no-server-header":
            self.send_header("Server", "broken-app")
        date = self.start_date if self.broken == "cached-date" else email.utils.formatdate(usegmt=True)
        self.send_header("Date", date)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    # --- routes -------------------------------------------------------------------------------------------

    def json(self) -> tuple[str, bytes]:
        data: dict[str, Any] = {"message": "Hello, World!"}
        if self.broken == "extra-json-key":
            data["extra"] = True
        content_type = "text/plain" if self.broken == "json-as-text" else "application/json"
        return content_type, json.dumps(data).encode()

    def plaintext(self) -> tuple[str, bytes]:
        return "text/plain", b"Hello, World!\n" if self.broken == "plaintext-newline" else b"Hello, World!"

    def db(self) -> tuple[str, bytes]:
        with self.pool.connection() as conn:
            return "application/json", json.dumps(self.read_world(conn, random.randint(1, 10000))).encode()

    def queries(self, raw: str | None) -> tuple[str, bytes]:
        n = self.clamp(raw)
        with self.pool.connection() as conn:
            if self.broken == "batched-queries":
                ids = random.sample(range(1, 10001), n)
                marks = ", ".join(["%s"] * n)
                rows = conn.execute(
                    f"SELECT id, randomnumber FROM world WHERE id IN ({marks})", ids
                ).fetchall()
                worlds = [{"id": i, "randomNumber": r} for i, r in rows]
            else:
                worlds = [self.read_world(conn, random.randint(1, 10000)) for _ in range(n)]
        return "application/json", json.dumps(worlds).encode()

    def fortunes(self) -> tuple[str, bytes]:
        with self.pool.connection() as conn:
            rows = [*conn.execute("SELECT id, message FROM fortune").fetchall(), EXTRA_FORTUNE]
        rows.sort(key=lambda row: row[1])
        escape = (lambda s: s) if self.broken == "unescaped-fortune" else html.escape
        cells = "".join(f"<tr><td>{i}</td><td>{escape(m)}</td></tr>" for i, m in rows)
        page = (
            "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
            f"<tr><th>id</th><th>message</th></tr>{cells}</table></body></html>"
        )
        return "text/html; charset=utf-8", page.encode()

    def updates(self, raw: str | None) -> tuple[str, bytes]:
        ids = sorted(random.sample(range(1, 10001), self.clamp(raw)))
        with self.pool.connection() as conn:
            old = [self.read_world(conn, i)["randomNumber"] for i in ids]
            new = [self.other_number(o) for o in old]
            written = old if self.broken == "updates-old-value" else new
            conn.execute(
                "UPDATE world SET randomnumber = v.r"
                " FROM (SELECT unnest(%s::integer[]) AS id, unnest(%s::integer[]) AS r) AS v"
                " WHERE world.id = v.id",
                (ids, written),
            )
        return "application/json", json.dumps(
            [{"id": i, "randomNumber": n} for i, n in zip(ids, new, strict=True)]
        ).encode()

    def lookup(self, name: str) -> tuple[str, bytes]:
        if not name:
            letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
            name = "".join(random.choices(letters, k=random.randint(1, 255)))
        found = False
        if "\x00" not in name:  # Postgres refuses NUL in text; no row has it
            sql = LOOKUP_SQL.get(self.broken, "SELECT id FROM demo_data WHERE name = %s LIMIT 1")
            with self.pool.connection() as conn:
                found = conn.execute(sql, (name,)).fetchone() is not None
        return "application/json", json.dumps({"name": name, "found": found}).encode()

    # --- helpers ------------------------------------------------------------------------------------------

    def clamp(self, raw: str | None) -> int:
        try:
            n = int(raw or "")
        except ValueError:
            return 1
        low = n if self.broken == "no-lower-clamp" else max(n, 1)
        return low if self.broken == "no-upper-clamp" else min(low, 500)

    @staticmethod
    def other_number(old: int) -> int:
        new = random.randint(1, 9999)
        return new + 1 if new >= old else new

    @staticmethod
    def read_world(conn: Any, world_id: int) -> dict[str, int]:
        row = conn.execute("SELECT id, randomnumber FROM world WHERE id = %s", (world_id,)).fetchone()
        return {"id": row[0], "randomNumber": row[1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--break", dest="broken", choices=sorted(BREAKS), default="none")
    args = parser.parse_args()
    with open(os.environ["LAB_DB_PASSWORD_FILE"], encoding="utf-8") as f:
        password = f.read().strip()
    pool = psycopg_pool.ConnectionPool(
        kwargs={
            "host": os.environ["LAB_DB_HOST"],
            "port": int(os.environ["LAB_DB_PORT"]),
            "dbname": os.environ["LAB_DB_NAME"],
            "user": os.environ["LAB_DB_USER"],
            "password": password,
            "autocommit": True,
        },
        min_size=4,
        max_size=16,
        open=True,
    )
    pool.wait()
    Handler.broken = args.broken
    Handler.pool = pool
    ThreadingHTTPServer.request_queue_size = 1024
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
