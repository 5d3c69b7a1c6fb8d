"""aiohttp app: the six benchmark routes, /lookup and the three scenario routes (see apps/README.md).

Run: gunicorn --no-control-socket -k lab_aiohttp_worker.UVLoopWebWorker --chdir apps/aiohttp \
     --pythonpath apps/_common app:app
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import jinja2
import labapp_common as common
import orjson
import scenarios
from aiohttp import web

CONFIG = common.db_config_from_env()
# Chosen once: the routes call the module's functions with no engine or mode test of their own.
if CONFIG.mode == "orm":
    import db_sqlalchemy_async as db
elif CONFIG.engine == "mysql":
    import db_asyncmy as db  # type: ignore[no-redef]
else:
    import db_asyncpg as db  # type: ignore[no-redef]

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True
)
FORTUNES_TEMPLATE = TEMPLATES.get_template("fortunes.html")
HELLO = b"Hello, World!"


def json_response(data: object) -> web.Response:
    return web.Response(body=orjson.dumps(data), content_type="application/json")


async def json_handler(request: web.Request) -> web.Response:
    return json_response({"message": "Hello, World!"})


async def plaintext(request: web.Request) -> web.Response:
    return web.Response(body=HELLO, content_type="text/plain")


async def single_query(request: web.Request) -> web.Response:
    return json_response(await db.random_world())


async def multiple_queries(request: web.Request) -> web.Response:
    return json_response(await db.random_worlds(common.queries_param(request.query.get("queries"))))


async def fortunes(request: web.Request) -> web.Response:
    rows = common.sorted_fortunes(await db.fortunes())
    return web.Response(
        text=FORTUNES_TEMPLATE.render(fortunes=rows), content_type="text/html", charset="utf-8"
    )


async def updates(request: web.Request) -> web.Response:
    return json_response(await db.update_worlds(common.queries_param(request.query.get("queries"))))


async def lookup(request: web.Request) -> web.Response:
    name, askable = common.lookup_name_param(request.query.get("name"))
    return json_response(common.lookup_answer(name, askable and await db.lookup(name)))


# Scenario routes (not TFB types): apps/_common/scenarios.py.
async def sleep(request: web.Request) -> web.Response:
    return web.Response(
        body=await scenarios.sleep_async(request.query.get("ms")), content_type="application/json"
    )


async def cpu(request: web.Request) -> web.Response:
    return web.Response(body=scenarios.cpu(request.query.get("n")), content_type="application/json")


async def upstream(request: web.Request) -> web.Response:
    status, body = await scenarios.upstream_async(request.query.get("ms"), request.query.get("client"))
    return web.Response(status=status, body=body, content_type="application/json")


async def db_pool(app: web.Application) -> AsyncIterator[None]:
    """One pool per worker process, opened in the worker's event loop before it serves."""
    await db.open_pool(CONFIG)
    yield
    await db.close_pool()


def create_app() -> web.Application:
    app = web.Application()
    app.cleanup_ctx.append(db_pool)
    app.router.add_get("/json", json_handler)
    app.router.add_get("/plaintext", plaintext)
    app.router.add_get("/db", single_query)
    app.router.add_get("/queries", multiple_queries)
    app.router.add_get("/fortunes", fortunes)
    app.router.add_get("/updates", updates)
    app.router.add_get("/lookup", lookup)
    app.router.add_get("/sleep", sleep)
    app.router.add_get("/cpu", cpu)
    app.router.add_get("/upstream", upstream)
    return app


app = create_app()
