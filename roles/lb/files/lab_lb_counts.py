#!/usr/bin/env python3
"""What each app host served, per second, from the balancer's access log (roles/lb, issue 18).

The balancer logs one line per request in its `lab_lb` format: `$msec $upstream_addr $status`, e.g.
`1764751234.567 10.213.1.11:8080 200`. When nginx tried another app host after an error or a timeout
(proxy_next_upstream), `$upstream_addr` lists every host it tried, comma-separated ("10.0.0.11:8080,
10.0.0.12:8080"): the last one answered, and the request counts as retried. A request nginx answered itself
(no app host reachable) has "-".

Prints one JSON document on stdout:
  {"since_ms": ..., "backends": {"<addr:port>": <weight>, ...},
   "counts": [[<epoch second>, "<addr:port>", <status>, <requests>], ...],
   "retried": [[<epoch second>, <requests>], ...], "lines": <read>, "unparsed": <lines not in the format>}
analysis/balance.py turns the counts into each level's share per app host. Standard library only: it runs on
the balancer's host with the system Python.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Iterable
from typing import Any


def count_lines(lines: Iterable[str], since_ms: int) -> dict[str, Any]:
    """The per-second counts of the log lines at or after since_ms (a pure function of the lines)."""
    served: Counter[tuple[int, str, int]] = Counter()
    retried: Counter[int] = Counter()
    read = unparsed = 0
    for line in lines:
        read += 1
        fields = line.split(" ", 1)
        try:
            stamp = float(fields[0])
            where, status = fields[1].rsplit(" ", 1)
            code = int(status)
        except (IndexError, ValueError):
            unparsed += 1
            continue
        if stamp * 1000 < since_ms:
            continue
        # ", " between the hosts tried, " : " after an internal redirect: the last one answered.
        tried = [part.strip() for part in where.replace(" : ", ",").split(",") if part.strip()]
        second = int(stamp)
        served[(second, tried[-1] if tried else "-", code)] += 1
        if len(tried) > 1:
            retried[second] += 1
    return {
        "since_ms": since_ms,
        "counts": [[second, backend, code, n] for (second, backend, code), n in sorted(served.items())],
        "retried": [[second, n] for second, n in sorted(retried.items())],
        "lines": read,
        "unparsed": unparsed,
    }


def backend_weights(backends: Iterable[dict[str, Any]]) -> dict[str, int]:
    """{"<address:port>" as nginx's $upstream_addr writes it (an IPv6 address in brackets): weight}."""
    weights = {}
    for backend in backends:
        address = str(backend["address"])
        host = f"[{address}]" if ":" in address else address
        weights[f"{host}:{int(backend['port'])}"] = int(backend.get("weight", 1))
    return weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", required=True, help="the balancer's access log (lab_lb format)")
    parser.add_argument("--since-ms", type=int, required=True, help="count the requests logged from then on")
    parser.add_argument(
        "--backends", type=json.loads, default=[], help="the app hosts, JSON: [{address, port, weight}, ...]"
    )
    args = parser.parse_args(argv)
    try:
        with open(args.log, encoding="utf-8", errors="replace") as log:
            document = count_lines(log, args.since_ms)
    except FileNotFoundError:
        document = count_lines([], args.since_ms)
    document["backends"] = backend_weights(args.backends)
    json.dump(document, sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
