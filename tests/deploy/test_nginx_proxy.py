"""The Elastic Beanstalk Python platform's nginx, with this repo's .platform/nginx files, run for real.

EB's nginx includes `.platform/nginx/conf.d/*.conf` in its http block and
`.platform/nginx/conf.d/elasticbeanstalk/*.conf` in its server block (where 00_application.conf replaces
the platform's own `location /`). The same structure is built here around Debian's nginx, in front of a
recording upstream that stands in for gunicorn, to check what a teacher's request looks like when it
reaches the app: a phone photo is not refused by nginx's 1 MB default, a slow upload is buffered by nginx
before the app sees it, and the client address the load balancer appended is the one the app trusts.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import free_port, port_open, wait_for

from .conftest import ROOT

PLATFORM_NGINX = ROOT / ".platform" / "nginx"
APP_PORT_IN_CONF = "127.0.0.1:5000"  # the Procfile's gunicorn --bind port, EB's PORT in 01_flask.config


def _nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found:
        return found
    reason = "nginx not found (run `make nginx` or tools/ensure_nginx.sh)"
    if os.environ.get("CI") == "true" or os.environ.get("REQUIRE_FACEDATA") == "1":
        pytest.fail(reason + "; in CI this is a failure")
    pytest.skip(reason)


@dataclass
class Seen:
    """One request as the upstream (gunicorn's place) received it."""

    path: str
    headers: dict[str, str]
    body_bytes: int
    arrived: float  # monotonic time at which the request line reached the upstream


@dataclass
class Upstream:
    port: int
    seen: list[Seen] = field(default_factory=list)


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Recorder(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            arrived = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            remaining = length
            while remaining:
                chunk = self.rfile.read(min(remaining, 1 << 20))
                if not chunk:
                    break
                remaining -= len(chunk)
            upstream.seen.append(Seen(self.path, dict(self.headers.items()), length - remaining, arrived))
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _answer
        do_POST = _answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Recorder


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    up = Upstream(port=free_port())
    server = ThreadingHTTPServer(("127.0.0.1", up.port), _handler(up))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield up
    server.shutdown()
    server.server_close()


def _eb_like_config(tmp: Path, listen_port: int, upstream_port: int) -> Path:
    """EB's nginx.conf structure around our files; only the upstream port differs (a free one here)."""
    conf_d = tmp / "conf.d"
    shutil.copytree(PLATFORM_NGINX / "conf.d", conf_d)
    app_conf = conf_d / "elasticbeanstalk" / "00_application.conf"
    text = app_conf.read_text()
    assert APP_PORT_IN_CONF in text, "00_application.conf must proxy to the Procfile's gunicorn (127.0.0.1:5000)"
    app_conf.write_text(text.replace(APP_PORT_IN_CONF, f"127.0.0.1:{upstream_port}"))
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir()
    user = "user root root;\n" if os.geteuid() == 0 else ""  # a root master would run workers as nobody
    main = tmp / "nginx.conf"
    main.write_text(
        f"""{user}worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    include {conf_d}/*.conf;
    server {{
        listen 127.0.0.1:{listen_port} default_server;
        include {conf_d}/elasticbeanstalk/*.conf;
    }}
}}
"""
    )
    return main


@pytest.fixture(scope="module")
def nginx(upstream: Upstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    binary = _nginx_binary()
    tmp = tmp_path_factory.mktemp("nginx")
    port = free_port()
    main = _eb_like_config(tmp, port, upstream.port)
    check = subprocess.run([binary, "-t", "-p", str(tmp), "-c", str(main)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([binary, "-p", str(tmp), "-c", str(main), "-g", "daemon off;"])
    try:
        wait_for(lambda: port_open(port), timeout=10, what="nginx listening")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _post(port: int, path: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers={"Content-Type": "image/jpeg", **(headers or {})})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _requests_to(upstream: Upstream, path: str) -> list[Seen]:
    return [s for s in upstream.seen if s.path == path]


def test_a_phone_photo_reaches_the_app(nginx: int, upstream: Upstream) -> None:
    """nginx's default limit is 1 MB; a 12 MP photo is 2-10 MB."""
    body = os.urandom(8 * 1024 * 1024)
    status, _ = _post(nginx, "/photo-8mb", body)
    assert status == 200
    [seen] = _requests_to(upstream, "/photo-8mb")
    assert seen.body_bytes == len(body)


def test_nginx_limit_is_the_apps_limit_plus_the_form(nginx: int, upstream: Upstream) -> None:
    """Up to MAX_UPLOAD_MB the app decides (with a sentence for the teacher); far above it nginx refuses."""
    from attendance_shared.settings import Settings

    conf = (PLATFORM_NGINX / "conf.d" / "attendance.conf").read_text()
    match = re.search(r"^client_max_body_size\s+(\d+)m;", conf, re.M)
    assert match, "client_max_body_size missing"
    app_mb = Settings.model_fields["max_upload_mb"].default
    assert int(match.group(1)) == app_mb + 1

    status, _ = _post(nginx, "/too-big", b"\0" * ((app_mb + 2) * 1024 * 1024))
    assert status == 413
    assert not _requests_to(upstream, "/too-big")


def test_a_slow_upload_is_buffered_before_the_app_sees_it(nginx: int, upstream: Upstream) -> None:
    """A phone on slow Wi-Fi must hold an nginx connection, not one of gunicorn's threads."""
    body = os.urandom(512 * 1024)
    head = (
        f"POST /slow HTTP/1.1\r\nHost: school.example\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", nginx), timeout=30) as sock:
        sock.sendall(head)
        first_byte_sent = time.monotonic()
        step = len(body) // 8
        for start in range(0, len(body), step):
            if start:
                time.sleep(0.2)  # 1.4 s for half a megabyte: a slow phone
            sock.sendall(body[start : start + step])
        last_byte_sent = time.monotonic()
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200"), reply[:80]
    [seen] = _requests_to(upstream, "/slow")
    assert seen.body_bytes == len(body)
    assert seen.arrived - first_byte_sent > 1.0
    assert seen.arrived >= last_byte_sent - 0.05, "the app saw the request while the client was still sending"


def test_the_load_balancers_client_address_is_the_one_hop_the_app_trusts(nginx: int, upstream: Upstream) -> None:
    """EB's default location appends nginx's peer (the load balancer) to X-Forwarded-For; with one trusted
    hop the app would then rate-limit the whole school as one address. Ours passes the ALB's headers on."""
    from werkzeug.middleware.proxy_fix import ProxyFix
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    status, _ = _post(
        nginx,
        "/signin",
        b"email=a%40b.c",
        {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https", "Host": "school.example"},
    )
    assert status == 200
    [seen] = _requests_to(upstream, "/signin")
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["x-forwarded-for"] == "198.51.100.9, 203.0.113.7"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["host"] == "school.example"

    # What the app's ProxyFix (TRUSTED_PROXY_HOPS=1, the production default) makes of those headers.
    environ = EnvironBuilder(path="/signin", headers=seen.headers).get_environ()
    captured: dict[str, object] = {}

    def app(env: dict[str, object], start_response: object) -> list[bytes]:
        captured.update(env)
        return []

    ProxyFix(app, x_for=1, x_proto=1)(environ, lambda *a: None)  # type: ignore[arg-type]
    request = Request(captured)  # type: ignore[arg-type]
    assert request.remote_addr == "203.0.113.7"  # the address the load balancer saw, not a forged one
    assert request.scheme == "https"


def test_nginx_waits_longer_than_gunicorn() -> None:
    """A long request must end with gunicorn's timeout (logged, worker restarted), not nginx's 504 first."""
    nginx_timeout = re.search(
        r"^proxy_read_timeout\s+(\d+)s;", (PLATFORM_NGINX / "conf.d" / "attendance.conf").read_text(), re.M
    )
    gunicorn_timeout = re.search(r"^web:.*--timeout (\d+)", (ROOT / "Procfile").read_text(), re.M)
    assert nginx_timeout and gunicorn_timeout
    assert int(nginx_timeout.group(1)) > int(gunicorn_timeout.group(1))
