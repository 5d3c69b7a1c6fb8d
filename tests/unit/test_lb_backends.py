"""Switching the balancer between counts of app hosts (roles/lb/files/lab_lb_backends.py, the scale-out curve
of issue 18), on a real nginx balancing over two real HTTP servers on loopback: each count's upstream file,
the link nginx.conf includes, `nginx -t` before the reload, and the old file kept when the test refuses."""

from __future__ import annotations

import http.client
import http.server
import os
import shutil
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.processes import free_port, serving_nginx
from roles.lb.files import lab_lb_backends as switcher

NAMES = ("first", "second")


def _app_host(name: str) -> tuple[http.server.ThreadingHTTPServer, int]:
    class Answer(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            body = name.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


class Balancer:
    def __init__(self, root: Path, backends: list[int]) -> None:
        self.root = root
        self.dir = root / "backends"
        self.dir.mkdir()
        for count in range(1, len(backends) + 1):
            lines = "".join(f"server 127.0.0.1:{port};\n" for port in backends[:count])
            (self.dir / f"backends-{count}.conf").write_text(lines)
        self.active = root / "backends-active.conf"
        self.active.symlink_to(self.dir / f"backends-{len(backends)}.conf")
        self.port = free_port()
        temp = " ".join(
            f"{kind}_temp_path {root};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        self.conf = root / "nginx.conf"
        self.pid_file = root / "nginx.pid"
        self.conf.write_text(
            f"daemon off; worker_processes 1; pid {self.pid_file}; error_log {root}/error.log warn;\n"
            "events { worker_connections 256; }\n"
            f"http {{ access_log off; {temp}\n"
            f"upstream app_hosts {{ include {self.active}; keepalive 8; }}\n"
            f"server {{ listen 127.0.0.1:{self.port}; location / {{ proxy_pass http://app_hosts;"
            ' proxy_http_version 1.1; proxy_set_header Connection ""; } } }\n'
        )

    def argv(self, count: int) -> list[str]:
        return [
            "--dir", str(self.dir), "--active", str(self.active), "--conf", str(self.conf),
            "--pid-file", str(self.pid_file), str(count),
        ]  # fmt: skip

    def served(self, requests: int = 40) -> Counter[str]:
        answers: Counter[str] = Counter()
        for _ in range(requests):
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            conn.request("GET", "/")
            answers[conn.getresponse().read().decode()] += 1
            conn.close()
        return answers


@pytest.fixture
def balancer(tmp_path: Path) -> Iterator[Balancer]:
    if shutil.which("nginx") is None or not Path(switcher.NGINX).exists():
        pytest.skip("nginx is not installed (make test-deps installs it)")
    servers = [_app_host(name) for name in NAMES]
    lb = Balancer(tmp_path, [port for _, port in servers])
    try:
        with serving_nginx(str(lb.conf), lb.port, str(tmp_path / "error.log")) as master:
            # Up, and its master's pid written (the switch reads it).
            while not lb.pid_file.exists():
                time.sleep(0.05)
            assert int(lb.pid_file.read_text()) == master
            yield lb
    finally:
        for server, _ in servers:
            server.shutdown()


def test_the_first_n_app_hosts_serve_after_the_switch(
    balancer: Balancer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert set(balancer.served()) == set(NAMES)
    assert switcher.main(balancer.argv(1)) == 0
    assert capsys.readouterr().out.splitlines()[0] == "changed"
    assert balancer.served() == Counter({"first": 40})
    # Asked again for the same count: nothing to do, and nginx is not reloaded.
    master = int(balancer.pid_file.read_text())
    workers = switcher.children(master)
    assert switcher.main(balancer.argv(1)) == 0
    assert capsys.readouterr().out.splitlines()[0] == "unchanged"
    assert switcher.children(master) == workers
    assert switcher.main(balancer.argv(2)) == 0
    assert set(balancer.served()) == set(NAMES)


def test_a_configuration_nginx_refuses_is_not_loaded(
    balancer: Balancer, capsys: pytest.CaptureFixture[str]
) -> None:
    (balancer.dir / "backends-3.conf").write_text("server 127.0.0.1:notaport;\n")
    before = os.readlink(balancer.active)
    assert switcher.main(balancer.argv(3)) == 1
    assert "nginx -t refused" in capsys.readouterr().err
    assert os.readlink(balancer.active) == before
    assert set(balancer.served()) == set(NAMES)


def test_a_count_without_its_file_is_named(balancer: Balancer, capsys: pytest.CaptureFixture[str]) -> None:
    assert switcher.main(balancer.argv(5)) == 1
    assert "no upstream file for 5 app host(s)" in capsys.readouterr().err
    assert os.readlink(balancer.active).endswith("backends-2.conf")
