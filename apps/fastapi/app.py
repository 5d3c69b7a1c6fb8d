"""FastAPI app: the six benchmark routes, /lookup and the three scenario routes (see apps/README.md).

Run: gunicorn --no-control-socket -k uvicorn_worker.UvicornWorker --chdir apps/fastapi \
     --pythonpath apps/_common app:app
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import jinja2
import labapp_common as common
import orjson
import scenarios
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

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


def json_response(data: object) -> Response:
    # orjson straight to bytes: no pydantic validation or jsonable_encoder pass.
    return Response(orjson.dumps(data), media_type="application/json")


@asynccontextmanager
async def db_pool(app: FastAPI) -> AsyncIterator[None]:
    """One pool per worker process, opened in the worker's event loop before it serves."""
    await db.open_pool(CONFIG)
    yield
    await db.close_pool()


app = FastAPI(lifespan=db_pool, openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/json")
async def json_handler() -> Response:
    return json_response({"message": "Hello, World!"})


@app.get("/plaintext")
async def plaintext() -> Response:
    return PlainTextResponse(HELLO)


@app.get("/db")
async def single_query() -> Response:
    return json_response(await db.random_world())


@app.get("/queries")
async def multiple_queries(queries: str | None = None) -> Response:
    return json_response(await db.random_worlds(common.queries_param(queries)))


@app.get("/fortunes")
async def fortunes() -> Response:
    rows = common.sorted_fortunes(await db.fortunes())
    return HTMLResponse(FORTUNES_TEMPLATE.render(fortunes=rows))


@app.get("/updates")
async def updates(queries: str | None = None) -> Response:
    return json_response(await db.update_worlds(common.queries_param(queries)))


@app.get("/lookup")
async def lookup(name: str | None = None) -> Response:
    name, askable = common.lookup_name_param(name)
    return json_response(common.lookup_answer(name, askable and await db.lookup(name)))


# Scenario routes (not TFB types): apps/_common/scenarios.py.
@app.get("/sleep")
async def sleep(ms: str | None = None) -> Response:
    return Response(await scenarios.sleep_async(ms), media_type="application/json")


@app.get("/cpu")
async def cpu(n: str | None = None) -> Response:
    return Response(scenarios.cpu(n), media_type="application/json")


@app.get("/upstream")
async def upstream(ms: str | None = None, client: str | None = None) -> Response:
    status, body = await scenarios.upstream_async(ms, client)
    return Response(body, status_code=status, media_type="application/json")
