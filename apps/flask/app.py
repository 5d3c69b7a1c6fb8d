"""Flask app: the six benchmark routes, /lookup and the three scenario routes (see apps/README.md).

Run: gunicorn --no-control-socket -k gthread --threads 8 --chdir apps/flask \
     --pythonpath apps/_common app:app
Without --preload: the pool is opened when a worker imports this module, i.e. once per worker process.
"""

from __future__ import annotations

import labapp_common as common
import orjson
import scenarios
from flask import Flask, Response, render_template, request

CONFIG = common.db_config_from_env()
HELLO = b"Hello, World!"

app = Flask(__name__)

# Chosen once: the routes call the module's functions with no engine or mode test of their own.
if CONFIG.mode == "orm":
    import db_orm as db
elif CONFIG.engine == "mysql":
    import db_raw_mysql as db  # type: ignore[no-redef]
else:
    import db_raw as db  # type: ignore[no-redef]
db.init_app(app, CONFIG)


def json_response(data: object) -> Response:
    return Response(orjson.dumps(data), mimetype="application/json")


@app.get("/json")
def json_handler() -> Response:
    return json_response({"message": "Hello, World!"})


@app.get("/plaintext")
def plaintext() -> Response:
    return Response(HELLO, mimetype="text/plain")


@app.get("/db")
def single_query() -> Response:
    return json_response(db.random_world())


@app.get("/queries")
def multiple_queries() -> Response:
    return json_response(db.random_worlds(common.queries_param(request.args.get("queries"))))


@app.get("/fortunes")
def fortunes() -> Response:
    rows = common.sorted_fortunes(db.fortunes())
    return Response(render_template("fortunes.html", fortunes=rows), mimetype="text/html")


@app.get("/updates")
def updates() -> Response:
    return json_response(db.update_worlds(common.queries_param(request.args.get("queries"))))


@app.get("/lookup")
def lookup() -> Response:
    name, askable = common.lookup_name_param(request.args.get("name"))
    return json_response(common.lookup_answer(name, askable and db.lookup(name)))


# Scenario routes (not TFB types): apps/_common/scenarios.py.
@app.get("/sleep")
def sleep() -> Response:
    return Response(scenarios.sleep_sync(request.args.get("ms")), mimetype="application/json")


@app.get("/cpu")
def cpu() -> Response:
    return Response(scenarios.cpu(request.args.get("n")), mimetype="application/json")


@app.get("/upstream")
def upstream() -> Response:
    status, body = scenarios.upstream_sync(request.args.get("ms"))
    return Response(body, status=status, mimetype="application/json")
