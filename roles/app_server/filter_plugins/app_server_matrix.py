"""The server matrix: which server and worker class each framework runs under, and the command that runs it.

Used by roles/app_server (the supervisor programs, lab-appctl, /etc/lab/<id>/app-<fw>.json), by
roles/lab_settings (the same checks before any host changes, through a link to this file) and by tests/matrix
(which starts the very commands the role would run).

Settings, from the most specific: app_server_framework_settings[<framework>][<key>], the global knob
app_server_<key>, the framework's manifest (apps/<framework>/lab.yml). An empty global knob ("", 0) means "the
framework's default".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

SERVERS = ("gunicorn", "uvicorn", "own")
# Worker class -> the interface of the apps it runs.
WORKER_INTERFACES = {
    "sync": "wsgi",
    "gthread": "wsgi",
    "gevent": "wsgi",
    # gevent's server without monkey-patching: the app's blocking calls block the process (scenario sweeps).
    "gevent_unpatched": "wsgi",
    "meinheld": "wsgi",
    "uvicorn": "asgi",
    "aiohttp": "aiohttp",
}
WORKER_CLASSES = tuple(WORKER_INTERFACES)
# gunicorn's --worker-class for each worker class.
GUNICORN_WORKER_CLASSES = {
    "sync": "sync",
    "gthread": "gthread",
    "gevent": "gevent",
    # apps/_common/lab_gevent_worker.py: gunicorn's gevent worker without patch_all().
    "gevent_unpatched": "lab_gevent_worker.UnpatchedGeventWorker",
    "meinheld": "meinheld.gmeinheld.MeinheldWorker",
    "uvicorn": "uvicorn_worker.UvicornWorker",
    # apps/aiohttp/lab_aiohttp_worker.py: aiohttp's uvloop worker, listening with --backlog.
    "aiohttp": "lab_aiohttp_worker.UVLoopWebWorker",
}
INTERFACE_NAMES = {"wsgi": "a WSGI app", "asgi": "an ASGI app", "aiohttp": "an aiohttp app"}
INTERFACE_PLURALS = {"wsgi": "WSGI apps", "asgi": "ASGI apps", "aiohttp": "aiohttp apps"}
# Worker classes whose process serves one request at a time (unpatched gevent never switches inside one).
ONE_AT_A_TIME = ("sync", "meinheld", "gevent_unpatched")
OVERRIDE_KEYS = ("server", "worker_class", "workers", "threads", "nginx", "db_pool_size")
KNOB_DEFAULTS = {
    "server": "", "worker_class": "", "workers": 0, "threads": 0, "nginx": True, "db_pool_size": 0,
}  # fmt: skip
# Knob -> (least, greatest) for the counts; 0 means the default.
COUNT_RANGES = {"workers": (0, 256), "threads": (0, 1024), "db_pool_size": (0, 1000)}
EVENT_LOOP_POOL_RANGE = (2, 64)
# Database connections per app-host CPU, shared by the workers of an event loop or gevent. More
# connections than the cores can run at once only queue in Postgres, and every backend costs it CPU and
# memory (on one host it shares the cores with the app): a handful per worker, not one per client.
DB_CONNECTIONS_PER_CPU = 4
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


class MatrixError(ValueError):
    """A setting the matrix refuses; the message names the variable, its value and what is allowed."""


def _knob(key: str) -> str:
    return f"app_server_{key}"


def _override_knob(framework: str, key: str) -> str:
    return f"app_server_framework_settings.{framework}.{key}"


def _as_count(name: str, value: Any, key: str) -> tuple[int | None, str | None]:
    low, high = COUNT_RANGES[key]
    text = str(value).strip()
    if isinstance(value, bool) or not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        return None, f"{name}={value!r} is not a whole number in {low}..{high} (0: the default)."
    return int(text), None


def _as_bool(name: str, value: Any) -> tuple[bool | None, str | None]:
    if isinstance(value, bool):
        return value, None
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True, None
    if text in FALSE_WORDS:
        return False, None
    return None, f"{name}={value!r} is not a boolean; allowed: true (nginx in front) or false (direct)."


def _as_choice(name: str, value: Any, choices: Sequence[str]) -> tuple[str | None, str | None]:
    if value in ("", None):
        return "", None
    if isinstance(value, str) and value in choices:
        return value, None
    allowed = ", ".join(choices)
    return None, f"{name}={value!r} is unknown; allowed: {allowed} (empty: the framework's default)."


def _parse(name: str, key: str, value: Any) -> tuple[Any, str | None]:
    if key == "server":
        return _as_choice(name, value, SERVERS)
    if key == "worker_class":
        return _as_choice(name, value, WORKER_CLASSES)
    if key == "nginx":
        return _as_bool(name, value)
    return _as_count(name, value, key)


def _parsed_settings(
    settings: Mapping[str, Any], known_frameworks: Sequence[str]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    """The global knobs and the per-framework overrides, converted; the errors of those that do not parse."""
    errors: list[str] = []
    knobs: dict[str, Any] = {}
    for key in OVERRIDE_KEYS:
        knobs[key], error = _parse(_knob(key), key, settings.get(key, KNOB_DEFAULTS[key]))
        errors += [error] if error else []
    overrides: dict[str, dict[str, Any]] = {}
    per_framework = settings.get("framework_settings") or {}
    if not isinstance(per_framework, Mapping):
        errors.append(
            f"app_server_framework_settings={per_framework!r} is not a dict; allowed: "
            "{<framework>: {<setting>: <value>}}, e.g. {flask: {worker_class: gevent, workers: 4}}."
        )
        return knobs, overrides, errors
    for framework, values in per_framework.items():
        if framework not in known_frameworks:
            errors.append(
                f"app_server_framework_settings has {framework!r}, which has no app; allowed: "
                f"{', '.join(known_frameworks)}."
            )
            continue
        if not isinstance(values, Mapping):
            errors.append(
                f"app_server_framework_settings.{framework}={values!r} is not a dict; allowed keys: "
                f"{', '.join(OVERRIDE_KEYS)}."
            )
            continue
        overrides[framework] = {}
        for key, value in values.items():
            if key not in OVERRIDE_KEYS:
                errors.append(
                    f"app_server_framework_settings.{framework} has the unknown setting {key!r}; allowed: "
                    f"{', '.join(OVERRIDE_KEYS)}."
                )
                continue
            overrides[framework][key], error = _parse(_override_knob(framework, key), key, value)
            errors += [error] if error else []
    return knobs, overrides, errors


def _pick(
    framework: str, key: str, knobs: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]]
) -> tuple[Any, str | None]:
    """The value set for one framework and the variable it came from (None: not set, the default applies)."""
    own = overrides.get(framework, {})
    if key in own and own[key] not in ("", None):
        return own[key], _override_knob(framework, key)
    if knobs.get(key) not in ("", None, 0):
        return knobs[key], _knob(key)
    return None, None


def _framework_errors(
    framework: str,
    manifest: Mapping[str, Any],
    knobs: Mapping[str, Any],
    overrides: Mapping[str, Mapping[str, Any]],
) -> list[str]:
    interface = manifest["interface"]
    servers: Mapping[str, Sequence[str]] = manifest["servers"]
    server, server_from = _pick(framework, "server", knobs, overrides)
    server = server or manifest["default_server"]
    if server not in servers:
        why = manifest.get("own_server_note") if server == "own" else None
        reason = (
            " ".join(str(why).split()).rstrip(".")
            if why
            else f"{framework} ({INTERFACE_NAMES[interface]}) cannot run under {server}"
        )
        return [f"{server_from}={server}: {reason}; allowed for {framework}: {', '.join(servers)}."]
    worker_class, worker_from = _pick(framework, "worker_class", knobs, overrides)
    if worker_class is None:
        return []
    # A global worker class suits only one kind of app; a sweep over several kinds sets it per framework.
    per_framework = _override_knob(framework, "worker_class")
    from_global = worker_from == _knob("worker_class")
    hint = f" (a sweep over several frameworks sets {per_framework})" if from_global else ""
    runs = WORKER_INTERFACES[worker_class]
    if runs != interface:
        return [
            f"{worker_from}={worker_class}: {framework} is {INTERFACE_NAMES[interface]}"
            f" and the {worker_class} worker runs {INTERFACE_PLURALS[runs]} only; allowed for {framework}:"
            f" {', '.join(servers[server])}{hint}."
        ]
    if worker_class not in servers[server]:
        return [
            f"{worker_from}={worker_class}: {framework} does not run on {worker_class} under {server} "
            f"(apps/{framework}/lab.yml servers); allowed for {framework} under {server}: "
            f"{', '.join(servers[server])}{hint}."
        ]
    threads, threads_from = _pick(framework, "threads", {}, overrides)
    if threads is not None and worker_class != "gthread":
        return [
            f"{threads_from}={threads}: threads are for the gthread worker, and {framework} runs on "
            f"{worker_class}; drop it or set worker_class: gthread."
        ]
    return []


def app_server_matrix_errors(
    frameworks: Sequence[str],
    manifests: Mapping[str, Mapping[str, Any]],
    settings: Mapping[str, Any],
    known_frameworks: Sequence[str] | None = None,
) -> list[str]:
    """Every refused setting, each message naming the variable, the value and what is allowed.

    settings: server, worker_class, workers, threads, nginx, db_pool_size (the app_server_* knobs without
    their prefix) and framework_settings (app_server_framework_settings).
    """
    knobs, overrides, errors = _parsed_settings(settings, list(known_frameworks or manifests))
    if errors:
        return errors
    for framework in frameworks:
        errors += _framework_errors(framework, manifests[framework], knobs, overrides)
    return errors


def _pool_size(
    worker_class: str, workers: int, threads: int | None, expected_concurrency: int, cpus: int
) -> int:
    """Database connections per worker process: what it can use at once, for event loops what the host's CPUs
    can keep busy (DB_CONNECTIONS_PER_CPU x cpus shared by the workers, within EVENT_LOOP_POOL_RANGE and never
    more than the expected concurrency per worker)."""
    if worker_class in ONE_AT_A_TIME:
        return 1
    if threads:
        return threads
    low, high = EVENT_LOOP_POOL_RANGE
    for_cpus = math.ceil(DB_CONNECTIONS_PER_CPU * cpus / workers)
    return max(low, min(high, for_cpus, math.ceil(expected_concurrency / workers)))


def app_server_matrix(
    frameworks: Sequence[str],
    manifests: Mapping[str, Mapping[str, Any]],
    settings: Mapping[str, Any],
    known_frameworks: Sequence[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """{target: its effective configuration}, every framework on every engine (app_server_targets; with one
    engine the targets are the frameworks); raises MatrixError on a refused setting.

    settings: as for app_server_matrix_errors, plus cpus (workers when 0), expected_concurrency (sizes the
    pools when db_pool_size is 0), db_mode and db_engines. known_frameworks: every app (default: those of
    manifests).
    """
    known = list(known_frameworks or manifests)
    errors = app_server_matrix_errors(frameworks, manifests, settings, known)
    engines = list(settings.get("db_engines") or [settings.get("db_engine") or "postgres"])
    targets = app_server_targets(frameworks, engines)
    clashes = sorted({t["name"] for t in targets if t["engine"] != engines[0]} & set(known))
    if clashes:
        errors.append(
            f"{', '.join(clashes)} would name both an app and a framework on another engine; allowed: app"
            " directories not named <framework>-<engine>."
        )
    if errors:
        raise MatrixError(" ".join(errors))
    knobs, overrides, _ = _parsed_settings(settings, known)
    cpus = max(1, int(settings.get("cpus") or 1))
    expected_concurrency = int(settings.get("expected_concurrency") or 512)
    configs: dict[str, dict[str, Any]] = {}
    for framework in frameworks:
        manifest = manifests[framework]
        server = _pick(framework, "server", knobs, overrides)[0] or manifest["default_server"]
        worker_class = _pick(framework, "worker_class", knobs, overrides)[0] or manifest["servers"][server][0]
        workers = _pick(framework, "workers", knobs, overrides)[0] or cpus
        threads = None
        if worker_class == "gthread":
            threads = _pick(framework, "threads", knobs, overrides)[0] or manifest.get("threads") or 1
        nginx = overrides.get(framework, {}).get("nginx", knobs["nginx"])
        pool_size = _pick(framework, "db_pool_size", knobs, overrides)[0] or _pool_size(
            worker_class, workers, threads, expected_concurrency, cpus
        )
        configs[framework] = {
            "framework": framework,
            "interface": manifest["interface"],
            "server": server,
            "worker_class": worker_class,
            "gunicorn_worker_class": GUNICORN_WORKER_CLASSES[worker_class] if server == "gunicorn" else None,
            "workers": workers,
            "threads": threads,
            "nginx": nginx,
            "db_mode": settings.get("db_mode", "raw"),
            "db_pool_size": pool_size,
        }
    matrix: dict[str, dict[str, Any]] = {}
    for target in targets:
        config = {**configs[target["framework"]], "target": target["name"], "db_engine": target["engine"]}
        # Beside another engine, Postgres is named too: each of the run's results says its engine.
        matrix[target["name"]] = {**config, "label": app_server_label(config, name_engine=len(engines) > 1)}
    return matrix


def app_server_targets(frameworks: Sequence[str], engines: Sequence[str]) -> list[dict[str, str]]:
    """Every framework on every engine, framework by framework: [{"name", "framework", "engine"}].

    The unit the app tier runs and the benchmark measures. A framework on the first engine keeps its name, so
    a run on one engine names what it always named; on the others it is "<framework>-<engine>", as
    TechEmpower names a framework's tests on another database.
    """
    return [
        {
            "name": framework if index == 0 else f"{framework}-{engine}",
            "framework": framework,
            "engine": engine,
        }
        for framework in frameworks
        for index, engine in enumerate(engines)
    ]


def app_server_db_connections(matrix: Mapping[str, Mapping[str, Any]]) -> dict[str, int]:
    """{engine: the most connections this host's pools hold on it at once}: lab-appctl runs one target at a
    time, and every worker of a target opens its whole pool (the pools' minimum is their maximum), so it is
    the largest workers x db_pool_size among the targets on that engine. Sizes the database's connection
    limit (group_vars/all/tiers.yml, through the db_demand entry point)."""
    demand: dict[str, int] = {}
    for config in matrix.values():
        engine = str(config.get("db_engine") or "postgres")
        held = int(config["workers"]) * int(config["db_pool_size"])
        demand[engine] = max(demand.get(engine, 0), held)
    return demand


def app_server_label(config: Mapping[str, Any], *, name_engine: bool = False) -> str:
    """The configuration in one line, e.g. "flask [gunicorn gthread, 2 workers x 8 threads, raw, nginx]", and
    "raw mysql" for the db mode on MySQL (Postgres, the default engine, is named only with name_engine).

    "uvicorn" is uvicorn's own server (its worker class is always uvicorn), "own server" the framework's."""
    workers = f"{config['workers']} worker{'s' if config['workers'] != 1 else ''}"
    if config.get("threads"):
        workers += f" x {config['threads']} threads"
    front = "nginx" if config["nginx"] else "direct"
    framework = config["framework"]
    server = {"gunicorn": f"gunicorn {config['worker_class']}", "own": "own server"}.get(
        config["server"], config["server"]
    )
    engine = config.get("db_engine") or "postgres"
    db = f"{config['db_mode']} {engine}" if name_engine or engine != "postgres" else config["db_mode"]
    return f"{framework} [{server}, {workers}, {db}, {front}]"


def app_server_program(config: Mapping[str, Any], where: Mapping[str, Any]) -> dict[str, Any]:
    """The command line and extra environment that run one framework as configured.

    where: venv, app_dir, common_dir, backlog, and either socket (behind nginx) or host and port (direct).
    """
    venv, app_dir, common_dir = str(where["venv"]), str(where["app_dir"]), str(where["common_dir"])
    backlog = str(where["backlog"])
    workers = str(config["workers"])
    direct = not config["nginx"]
    host, port, socket = str(where.get("host", "")), str(where.get("port", "")), str(where.get("socket", ""))
    environment: dict[str, str] = {}
    if config["server"] == "gunicorn":
        address = f"[{host}]" if ":" in host else host
        bind = f"{address}:{port}" if direct else f"unix:{socket}"
        command = [
            f"{venv}/bin/gunicorn", "--no-control-socket",
            "--worker-class", config["gunicorn_worker_class"], "--workers", workers,
            *(["--threads", str(config["threads"])] if config["threads"] else []),
            "--bind", bind, "--backlog", backlog, "--keep-alive", "75", "--graceful-timeout", "10",
            "--error-logfile", "-",
            "--pythonpath", common_dir, "--chdir", app_dir, "app:app",
        ]  # fmt: skip
    elif config["server"] == "uvicorn":
        command = [
            f"{venv}/bin/uvicorn", "--workers", workers,
            *(["--host", host, "--port", port] if direct else ["--uds", socket]),
            "--backlog", backlog, "--loop", "uvloop", "--http", "httptools", "--timeout-keep-alive", "75",
            "--timeout-graceful-shutdown", "10",
            "--no-access-log", "--log-level", "warning", "--app-dir", app_dir, "app:app",
        ]  # fmt: skip
        environment["PYTHONPATH"] = common_dir
    else:  # the framework's own server
        command = [
            f"{venv}/bin/python", f"{app_dir}/serve.py", "--workers", workers,
            *(["--host", host, "--port", port] if direct else ["--unix", socket]),
            "--backlog", backlog,
        ]  # fmt: skip
        environment["PYTHONPATH"] = f"{common_dir}:{app_dir}"
    return {"command": command, "environment": environment}


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "app_server_db_connections": app_server_db_connections,
            "app_server_matrix": app_server_matrix,
            "app_server_matrix_errors": app_server_matrix_errors,
            "app_server_program": app_server_program,
            "app_server_targets": app_server_targets,
        }
