"""Crax app: the six benchmark routes, /lookup and the three scenario routes (see apps/README.md).

Raw mode only (lab.yml db_modes).

Run: gunicorn --no-control-socket -k uvicorn_worker.UvicornWorker --chdir apps/crax \
     --pythonpath apps/_common app:app

This module is also the Crax settings module (Crax(settings=__name__) reads URL_PATTERNS from it). Crax's
ORM needs SQLAlchemy 1.x, so the database goes through the driver directly: asyncpg, or asyncmy on MySQL.
Handlers are coroutine functions (Crax calls them as handler(request, scope, receive, send)) answering with
Crax response types.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import labapp_common as common
import orjson
import scenarios
from asgi_scope import WithAddresses
from crax import Crax
from crax.response_types import BaseResponse
from crax.urls import Route, Url

CONFIG = common.db_config_from_env()
if CONFIG.mode != "raw":
    raise SystemExit(f"crax supports LAB_DB_MODE=raw only, not {CONFIG.mode!r} (see apps/crax/lab.yml)")
if CONFIG.engine == "mysql":
    import db_asyncmy as db
else:
    import db_asyncpg as db  # type: ignore[no-redef]

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)
FORTUNES_TEMPLATE = TEMPLATES.get_template("fortunes.html")
HELLO = b"Hello, World!"


class JSONResponse(BaseResponse):  # type: ignore[misc]
    content_type = "application/json"  # crax appends "; charset=utf-8"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class PlainTextResponse(BaseResponse):  # type: ignore[misc]
    content_type = "text/plain"


class HTMLResponse(BaseResponse):  # type: ignore[misc]
    content_type = "text/html"


async def json_handler(request: Any, scope: Any, receive: Any, send: Any) -> None:
    await JSONResponse(request, {"message": "Hello, World!"})(scope, receive, send)


async def plaintext(request: Any, scope: Any, receive: Any, send: Any) -> None:
    await PlainTextResponse(request, HELLO)(scope, receive, send)


async def single_query(request: Any, scope: Any, receive: Any, send: Any) -> None:
    await JSONResponse(request, await db.random_world())(scope, receive, send)


def _param(request: Any, name: str) -> str | None:
    # Crax parses the query string with urllib.parse.parse_qs: {name: [values]}, blank values dropped.
    value: str | None = request.query.get(name, [None])[0]
    return value


def _queries(request: Any) -> int:
    return common.queries_param(_param(request, "queries"))


async def multiple_queries(request: Any, scope: Any, receive: Any, send: Any) -> None:
    await JSONResponse(request, await db.random_worlds(_queries(request)))(scope, receive, send)


async def fortunes(request: Any, scope: Any, receive: Any, send: Any) -> None:
    rows = common.sorted_fortunes(await db.fortunes())
    await HTMLResponse(request, FORTUNES_TEMPLATE.render(fortunes=rows))(scope, receive, send)


async def updates(request: Any, scope: Any, receive: Any, send: Any) -> None:
    await JSONResponse(request, await db.update_worlds(_queries(request)))(scope, receive, send)


async def lookup(request: Any, scope: Any, receive: Any, send: Any) -> None:
    name, askable = common.lookup_name_param(_param(request, "name"))
    answer = common.lookup_answer(name, askable and await db.lookup(name))
    await JSONResponse(request, answer)(scope, receive, send)


# Scenario routes (not TFB types): apps/_common/scenarios.py.
class JSONBytesResponse(BaseResponse):  # type: ignore[misc]
    """A body that is JSON already (the scenario handlers answer bytes)."""

    content_type = "application/json"


async def sleep(request: Any, scope: Any, receive: Any, send: Any) -> None:
    body = await scenarios.sleep_async(_param(request, "ms"))
    await JSONBytesResponse(request, body)(scope, receive, send)


async def cpu(request: Any, scope: Any, receive: Any, send: Any) -> None:
    await JSONBytesResponse(request, scenarios.cpu(_param(request, "n")))(scope, receive, send)


async def upstream(request: Any, scope: Any, receive: Any, send: Any) -> None:
    status, body = await scenarios.upstream_async(_param(request, "ms"), _param(request, "client"))
    await JSONBytesResponse(request, body, status_code=status)(scope, receive, send)


URL_PATTERNS = [
    Route(Url("/json"), json_handler),
    Route(Url("/plaintext"), plaintext),
    Route(Url("/db"), single_query),
    Route(Url("/queries"), multiple_queries),
    Route(Url("/fortunes"), fortunes),
    Route(Url("/updates"), updates),
    Route(Url("/lookup"), lookup),
    Route(Url("/sleep"), sleep),
    Route(Url("/cpu"), cpu),
    Route(Url("/upstream"), upstream),
]
# No STATIC_DIRS here on purpose: Crax appends to that list on every request.
MIDDLEWARE: list[str] = []
ALLOWED_HOSTS = ["*"]


async def open_pool() -> None:
    """One pool per worker process, opened on the ASGI lifespan startup (Crax has no shutdown hook)."""
    await db.open_pool(CONFIG)


# Behind a unix socket the ASGI scope has no client address, which Crax cannot handle (asgi_scope.py).
app = WithAddresses(Crax(settings=__name__, on_startup=open_pool))
