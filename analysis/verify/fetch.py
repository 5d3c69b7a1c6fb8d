"""HTTP GET with the stdlib, turned into a Response; transport errors become Response.error, never raise."""

from __future__ import annotations

import http.client
import time
import urllib.parse

from .response import Response


def _target(url: str) -> tuple[str, int, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"{url!r}: only http://host[:port]/path URLs are supported")
    path = parts.path or "/"
    if "?" in url:
        path += "?" + parts.query
    return parts.hostname, parts.port or 80, path


def fetch(url: str, accept: str, timeout: float) -> Response:
    """One GET on a fresh connection. Chunked bodies are de-chunked; the headers are kept as sent."""
    host, port, path = _target(url)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept": accept})
        resp = conn.getresponse()
        body = resp.read()
        return Response(url, resp.status, resp.getheaders(), body, time.monotonic())
    except TimeoutError:
        return Response(url, received_at=time.monotonic(), error=f"no response within {timeout:g} s")
    except (OSError, http.client.HTTPException) as e:
        return Response(url, received_at=time.monotonic(), error=f"{type(e).__name__}: {e}")
    finally:
        conn.close()
