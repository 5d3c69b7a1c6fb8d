"""Django app in one module: settings, the routes (benchmark, /lookup, scenarios), the WSGI callable.

Run: gunicorn --no-control-socket -k gthread --threads 8 --chdir apps/django \
     --pythonpath apps/_common app:app
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import django
import labapp_common as common
import orjson
import scenarios
from django.conf import settings

CONFIG = common.db_config_from_env()
GREENLETS = common.greenlet_worker()
POOL = {"pool": {"min_size": CONFIG.pool_size, "max_size": CONFIG.pool_size, "timeout": common.POOL_WAIT_S}}

if CONFIG.engine == "mysql":
    import pymysql
    from pymysql.constants import CLIENT

    # Django's MySQL backend imports MySQLdb (mysqlclient, C): PyMySQL takes its place. Being pure Python, it
    # waits cooperatively under the gevent worker, where mysqlclient would block the whole process.
    pymysql.install_as_MySQLdb()
    # Django has no pool for MySQL: under gevent a connection per request (CONN_MAX_AGE=0) instead of one
    # per greenlet (per client connection) that is never given back.
    DATABASE: dict[str, Any] = {
        "ENGINE": "django.db.backends.mysql",
        "CONN_MAX_AGE": 0 if GREENLETS else None,
        # Django's own flag (UPDATE answers the rows matched) and the multi-statements of raw mode's reads.
        "OPTIONS": {"charset": "utf8mb4", "client_flag": CLIENT.FOUND_ROWS | CLIENT.MULTI_STATEMENTS},
    }
else:
    DATABASE = {
        "ENGINE": "django.db.backends.postgresql",  # psycopg 3
        # Persistent: one connection per worker thread, kept open. Under gevent a "thread" is a greenlet per
        # client connection, so there Django's pool (LAB_DB_POOL_SIZE per worker) lends connections.
        "CONN_MAX_AGE": 0 if GREENLETS else None,
        # Raw mode binds parameters on the server, so psycopg prepares repeated statements.
        "OPTIONS": {"server_side_binding": CONFIG.mode == "raw"} | (POOL if GREENLETS else {}),
    }

settings.configure(
    DEBUG=False,
    SECRET_KEY=secrets.token_urlsafe(32),  # nothing is signed: no sessions, no CSRF
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[],
    MIDDLEWARE=[],
    USE_TZ=False,
    DATABASES={
        "default": {
            "HOST": CONFIG.host,
            "PORT": CONFIG.port,
            "NAME": CONFIG.name,
            "USER": CONFIG.user,
            "PASSWORD": CONFIG.password or "",
        }
        | DATABASE
    },
    TEMPLATES=[
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [Path(__file__).parent / "templates"],
        }
    ],
)
django.setup()

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.template import loader  # noqa: E402
from django.urls import path  # noqa: E402

# Chosen once: the routes call the module's functions with no engine or mode test of their own.
if CONFIG.mode == "orm":
    import db_orm as db
else:
    import db_raw as db  # type: ignore[no-redef]

FORTUNES_TEMPLATE = loader.get_template("fortunes.html")
HELLO = b"Hello, World!"


def json_response(data: object) -> HttpResponse:
    return HttpResponse(orjson.dumps(data), content_type="application/json")


def json_handler(request: HttpRequest) -> HttpResponse:
    return json_response({"message": "Hello, World!"})


def plaintext(request: HttpRequest) -> HttpResponse:
    return HttpResponse(HELLO, content_type="text/plain")


def single_query(request: HttpRequest) -> HttpResponse:
    return json_response(db.random_world())


def multiple_queries(request: HttpRequest) -> HttpResponse:
    return json_response(db.random_worlds(common.queries_param(request.GET.get("queries"))))


def fortunes(request: HttpRequest) -> HttpResponse:
    rows = common.sorted_fortunes(db.fortunes())
    return HttpResponse(FORTUNES_TEMPLATE.render({"fortunes": rows}))  # text/html; charset=utf-8


def updates(request: HttpRequest) -> HttpResponse:
    return json_response(db.update_worlds(common.queries_param(request.GET.get("queries"))))


def lookup(request: HttpRequest) -> HttpResponse:
    name, askable = common.lookup_name_param(request.GET.get("name"))
    return json_response(common.lookup_answer(name, askable and db.lookup(name)))


# Scenario routes (not TFB types): apps/_common/scenarios.py.
def sleep(request: HttpRequest) -> HttpResponse:
    return HttpResponse(scenarios.sleep_sync(request.GET.get("ms")), content_type="application/json")


def cpu(request: HttpRequest) -> HttpResponse:
    return HttpResponse(scenarios.cpu(request.GET.get("n")), content_type="application/json")


def upstream(request: HttpRequest) -> HttpResponse:
    status, body = scenarios.upstream_sync(request.GET.get("ms"))
    return HttpResponse(body, status=status, content_type="application/json")


urlpatterns = [
    path("json", json_handler),
    path("plaintext", plaintext),
    path("db", single_query),
    path("queries", multiple_queries),
    path("fortunes", fortunes),
    path("updates", updates),
    path("lookup", lookup),
    path("sleep", sleep),
    path("cpu", cpu),
    path("upstream", upstream),
]

app = get_wsgi_application()
