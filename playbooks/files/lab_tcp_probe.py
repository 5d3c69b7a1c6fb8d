#!/usr/bin/env python3
"""Can this host open TCP connections to the lab ports it needs? Run on a lab host (stdlib only).

    lab_tcp_probe.py [--timeout SECONDS] ADDRESS PORT [ADDRESS PORT ...]

Prints one JSON object: for each "ADDRESS PORT", "open" (accepted), "refused" (the host answered that nothing
listens there: the path is open, the service is not up yet, as before the first provisioning) or
"blocked: <why>" (timed out, no route, network unreachable: a packet filter or a security group drops it, or
the address is wrong). Exit status 0 whatever the outcome; the caller decides. All probes run at once.
"""

from __future__ import annotations

import argparse
import errno
import json
import socket
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

# The host answered with a reset: the path is open, only the service is missing.
REFUSED = (errno.ECONNREFUSED,)


def probe(address: str, port: int, timeout_s: float) -> str:
    try:
        socket.create_connection((address, port), timeout=timeout_s).close()
    except TimeoutError:
        return f"blocked: no answer within {timeout_s:g} s"
    except OSError as exc:
        if exc.errno in REFUSED:
            return "refused"
        return f"blocked: {exc.strerror or exc}"
    return "open"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("targets", nargs="*", help="ADDRESS PORT pairs")
    args = parser.parse_args(argv)
    if len(args.targets) % 2:
        parser.error("targets come in pairs: ADDRESS PORT")
    pairs = [(args.targets[i], int(args.targets[i + 1])) for i in range(0, len(args.targets), 2)]
    with ThreadPoolExecutor(max_workers=max(1, len(pairs))) as pool:
        outcomes = list(pool.map(lambda pair: probe(pair[0], pair[1], args.timeout), pairs))
    print(
        json.dumps(
            {f"{address} {port}": outcome for (address, port), outcome in zip(pairs, outcomes, strict=True)}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
