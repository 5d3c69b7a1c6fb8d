"""aiohttp's gunicorn worker on uvloop, listening with gunicorn's --backlog instead of 128.

gunicorn opens the listening sockets with ``listen(--backlog)``, but aiohttp's worker then starts a
``web.SockSite`` per socket with SockSite's default backlog, and asyncio's ``create_server`` calls
``listen(128)`` on the socket again. A burst of connects larger than 128 (nginx opening upstream connections
at high concurrency) then overflows the queue: EAGAIN on the unix socket, 502 from nginx. Calling ``listen()``
again on a listening socket only changes its queue length, so this worker restores the configured backlog
right after aiohttp has started its sites (the first ``notify()`` follows ``site.start()`` directly).
"""

from __future__ import annotations

from typing import Any

from aiohttp.worker import GunicornUVLoopWebWorker


class _ConfiguredBacklog:
    sockets: list[Any]
    cfg: Any
    _backlog_restored = False

    def notify(self) -> None:
        if not self._backlog_restored:
            for sock in self.sockets:
                sock.listen(self.cfg.backlog)
            self._backlog_restored = True
        super().notify()  # type: ignore[misc]


class UVLoopWebWorker(_ConfiguredBacklog, GunicornUVLoopWebWorker):  # type: ignore[misc]
    """aiohttp.GunicornUVLoopWebWorker with the configured backlog: the lab's default for aiohttp."""
