"""An ASGI wrapper that gives Crax a client and server address on every connection.

Crax 0.1.5 builds its request with ``":".join(scope["client"])`` and the same for ``scope["server"]``.
Behind a unix socket (nginx -> uvicorn) the ASGI server passes ``client: None`` (the ASGI spec allows it),
and Crax fails every request with a TypeError. This wrapper puts ("", 0) in place of a missing address.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Any, Any], Awaitable[None]]
UNKNOWN_ADDRESS = ("", 0)


class WithAddresses:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            if scope.get("client") is None:
                scope["client"] = UNKNOWN_ADDRESS
            if scope.get("server") is None:
                scope["server"] = UNKNOWN_ADDRESS
        await self.app(scope, receive, send)
