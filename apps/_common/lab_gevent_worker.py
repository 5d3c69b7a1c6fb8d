"""gunicorn's gevent worker without monkey-patching: the server is cooperative, the app's own calls are not.

gunicorn's ``gevent`` worker calls ``gevent.monkey.patch_all()`` before it loads the app, so the app's
blocking calls (``time.sleep``, sockets, ``threading``) yield to other greenlets. This worker only turns the
listening sockets into gevent sockets, as the stock worker does after patching: it still accepts and parses
many connections at once, but a request that sleeps or waits on a socket of its own (an upstream call, the
database) stops the whole process until it returns. The lab runs it as the worker class ``gevent_unpatched``
(apps/<framework>/lab.yml) to show what the patching buys.
"""

from __future__ import annotations

from typing import Any

from gevent import socket
from gunicorn.workers.ggevent import GeventWorker


class UnpatchedGeventWorker(GeventWorker):  # type: ignore[misc]
    sockets: list[Any]

    def patch(self) -> None:
        self.sockets = [
            socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.detach()) for s in self.sockets
        ]
