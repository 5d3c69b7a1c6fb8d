"""roles/app_server's nginx.conf.j2 rendered for an nginx started on this machine, in front of an app's unix
socket: the role's own template, so what runs locally is what the app tier runs."""

from __future__ import annotations

import getpass
import re
import resource
from pathlib import Path

import jinja2
import yaml

from .paths import REPO

NGINX_TEMPLATE = REPO / "roles" / "app_server" / "templates" / "nginx.conf.j2"
ROLE_DEFAULTS = REPO / "roles" / "app_server" / "defaults" / "main.yml"


def _regex_replace(value: object, pattern: str, replacement: str) -> str:
    return re.sub(pattern, replacement, str(value))


def render_nginx_conf(
    workdir: Path,
    socket: Path,
    port: int,
    *,
    rendered_by: str,
    user: str | None = None,
    nofile_limit: int | None = None,
    worker_connections: int | None = None,
    upstream_keepalive: int | None = None,
) -> Path:
    """workdir/nginx.conf listening on 127.0.0.1:port, its run, log and state directories under workdir.

    Unset: the current user, the hard limit of open files, and the role's defaults for the rest.
    """
    defaults = yaml.safe_load(ROLE_DEFAULTS.read_text(encoding="utf-8"))
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    env.filters["ansible.builtin.regex_replace"] = _regex_replace
    for name in ("run", "log", "state"):
        (workdir / name).mkdir(parents=True, exist_ok=True)
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[1] if nofile_limit is None else nofile_limit
    connections = worker_connections or defaults["app_server_nginx_worker_connections"]
    keepalive = upstream_keepalive or defaults["app_server_nginx_upstream_keepalive"]
    text = env.from_string(NGINX_TEMPLATE.read_text(encoding="utf-8")).render(
        ansible_managed=f"rendered by {rendered_by}",
        inventory_hostname="localhost",
        _app_server_user=user or getpass.getuser(),
        supervisor_nofile_limit=str(nofile),
        _app_server_run_dir=workdir / "run",
        _app_server_log_dir=workdir / "log",
        _app_server_state_dir=workdir / "state",
        _app_server_socket=socket,
        app_server_listen_address="127.0.0.1",
        app_server_port=port,
        app_server_nginx_worker_connections=connections,
        app_server_nginx_upstream_keepalive=keepalive,
    )
    conf = workdir / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    return conf
