"""The nginx in front of gunicorn, on both Elastic Beanstalk platforms, run for real with this repo's files.

- *Python* platform: EB's own nginx includes `.platform/nginx/conf.d/*.conf` in its http block and
  `.platform/nginx/conf.d/elasticbeanstalk/*.conf` in its server block (where 00_application.conf replaces
  the platform's own `location /`).
- *Docker* platform (Dockerrun.aws.json) and docker-compose.yml: the `proxy` container, nginx's official
  image, whose nginx.conf includes `/etc/nginx/conf.d/*.conf` in its http block; deploy/proxy/default.conf
  is mounted there and proxies to the `web` container (`web:5000`, through the task's links).

Each structure is rebuilt here around Debian's nginx, in front of a recording upstream that stands in for
gunicorn, to check what a teacher's request looks like when it reaches the app: a phone photo is not
refused by nginx's 1 MB default, a slow upload is buffered by nginx before the app sees it, and the client
address the load balancer appended is the one the app trusts.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tools.deploy_checks import eb_nginx

from .conftest import ROOT


def _nginx_binary() -> str:
    found = eb_nginx.nginx_binary()
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
    peer_port: int  # nginx's side of the upstream connection: the same port means a kept-alive connection


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
            upstream.seen.append(
                Seen(self.path, dict(self.headers.items()), length - remaining, arrived, self.client_address[1])
            )
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


def _procfile_gunicorn_timeout() -> int:
    match = re.search(r"^web:.*--timeout (\d+)", (ROOT / "Procfile").read_text(), re.M)
    assert match, "Procfile: web has no --timeout"
    return int(match.group(1))


def _procfile_gunicorn_flags() -> str:
    """The Python platform's gunicorn: the Procfile's command and 01_flask.config's GUNICORN_CMD_ARGS."""
    web = re.search(r"^web:(.*)$", (ROOT / "Procfile").read_text(), re.M)
    args = re.search(r'GUNICORN_CMD_ARGS:\s*"([^"]*)"', (ROOT / ".ebextensions" / "01_flask.config").read_text())
    assert web and args, "Procfile web line or 01_flask.config GUNICORN_CMD_ARGS missing"
    return web.group(1) + " " + args.group(1)


def _dockerrun_web_command() -> list[str]:
    doc = json.loads((ROOT / "Dockerrun.aws.json").read_text())
    command: list[str] = next(c for c in doc["containerDefinitions"] if c["name"] == "web")["command"]
    return command


def _dockerrun_gunicorn_timeout() -> int:
    command = _dockerrun_web_command()
    return int(command[command.index("--timeout") + 1])


def _web_image_gunicorn_cmd_args() -> str:
    match = re.search(r'GUNICORN_CMD_ARGS="([^"]*)"', (ROOT / "services" / "web" / "Dockerfile").read_text())
    assert match, "services/web/Dockerfile: GUNICORN_CMD_ARGS not found"
    return match.group(1)


def _docker_gunicorn_flags() -> str:
    return " ".join(_dockerrun_web_command()) + " " + _web_image_gunicorn_cmd_args()


@dataclass(frozen=True)
class Layout:
    """One way this repository's nginx files are deployed, rebuilt around a local nginx."""

    name: str
    limits: Path  # the file with client_max_body_size and proxy_read_timeout
    build: Callable[[Path, int, int], Path]  # (tmp, listen port, upstream port) -> the main nginx.conf
    gunicorn_timeout: Callable[[], int]  # the --timeout of the gunicorn behind it
    gunicorn_flags: Callable[[], str]  # its whole command line and GUNICORN_CMD_ARGS


EB_PYTHON = Layout(
    "eb-python",
    eb_nginx.PLATFORM_NGINX / "conf.d" / "attendance.conf",
    eb_nginx.eb_python_config,
    _procfile_gunicorn_timeout,
    _procfile_gunicorn_flags,
)
DOCKER_PROXY = Layout(
    "docker-proxy",
    eb_nginx.DOCKER_PROXY_CONF,
    eb_nginx.docker_proxy_config,
    _dockerrun_gunicorn_timeout,
    _docker_gunicorn_flags,
)
LAYOUTS = [EB_PYTHON, DOCKER_PROXY]


@dataclass
class Proxy:
    """A running nginx (listening on port) built as layout, in front of its own recording upstream."""

    layout: Layout
    port: int
    upstream: Upstream


def _limit(layout: Layout, directive: str) -> int:
    match = re.search(rf"^\s*{directive}\s+(\d+)[ms];", layout.limits.read_text(), re.M)
    assert match, f"{layout.limits.relative_to(ROOT)}: {directive} missing"
    return int(match.group(1))


@pytest.fixture(scope="module", params=LAYOUTS, ids=lambda layout: layout.name)
def proxy(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proxy]:
    _nginx_binary()  # skip, or fail in CI, before anything starts
    layout: Layout = request.param
    upstream = Upstream(port=free_port())
    server = ThreadingHTTPServer(("127.0.0.1", upstream.port), _handler(upstream))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    tmp = tmp_path_factory.mktemp(f"nginx-{layout.name}")
    port = free_port()
    main = layout.build(tmp, port, upstream.port)
    try:
        proc = eb_nginx.start(main, port)  # `nginx -t` first: a syntax error fails here, with nginx's message
        try:
            yield Proxy(layout, port, upstream)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def getheader(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name, default)


def _request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "image/jpeg", **(headers or {})})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        conn.close()


def _post(port: int, path: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    return _request(port, "POST", path, body, headers).status


def _requests_to(upstream: Upstream, path: str) -> list[Seen]:
    return [s for s in upstream.seen if s.path == path]


def test_a_phone_photo_reaches_the_app(proxy: Proxy) -> None:
    """nginx's default limit is 1 MB; a 12 MP photo is 2-10 MB."""
    body = os.urandom(8 * 1024 * 1024)
    assert _post(proxy.port, "/photo-8mb", body) == 200
    [seen] = _requests_to(proxy.upstream, "/photo-8mb")
    assert seen.body_bytes == len(body)


def test_nginx_limit_is_the_apps_limit_plus_the_form(proxy: Proxy, app: Any) -> None:
    """Up to MAX_UPLOAD_MB the app decides (with a sentence for the teacher); far above it nginx refuses, in the app's
    own words for the same address: the limit, and for the roster and portrait forms what to send instead."""
    from attendance_shared.settings import Settings
    from attendance_web.errors import too_large_message

    app_mb = Settings.model_fields["max_upload_mb"].default
    assert _limit(proxy.layout, "client_max_body_size") == app_mb + 1
    assert app.config["MAX_CONTENT_LENGTH"] == app_mb * 1024 * 1024

    def apps_words(path: str) -> str:
        """What the app's 413 says for a POST to path (attendance_web/errors.py), at the default limit."""
        with app.test_request_context(path, method="POST"):
            return too_large_message(app_mb)

    too_big = b"\0" * ((app_mb + 2) * 1024 * 1024)
    pages = {
        "/courses/1/sessions": "",  # classroom photos: the limit alone
        "/courses/7/roster/imports": "import the same CSV with each one",
        "/students/3/photos?course=7": "upload the portraits one or two at a time",
        "/students/3/photos": "upload the portraits one or two at a time",
    }
    for path, advice in pages.items():
        page = _request(proxy.port, "POST", path, too_big)
        assert page.status == 413 and str(page.getheader("Content-Type")).startswith("text/html"), path
        said = re.search(r"<p>(.*?)</p>", page.body.decode())
        assert said, page.body[:200]
        assert html.unescape(said.group(1)) == apps_words(path), path
        assert advice in said.group(1), path
        assert f"the limit is {app_mb} MB per upload" in said.group(1)
    api = _request(proxy.port, "POST", "/api/v1/courses/1/sessions", too_big)
    assert api.status == 413 and api.getheader("Content-Type") == "application/json"
    assert json.loads(api.body) == {
        "error": {"code": "payload_too_large", "message": apps_words("/courses/1/sessions")}
    }
    assert not [s for s in proxy.upstream.seen if s.path.split("?")[0] in {p.split("?")[0] for p in pages}]
    assert not _requests_to(proxy.upstream, "/api/v1/courses/1/sessions")


def test_a_slow_upload_is_buffered_before_the_app_sees_it(proxy: Proxy) -> None:
    """A phone on slow Wi-Fi must hold an nginx connection, not one of gunicorn's threads."""
    body = os.urandom(512 * 1024)
    head = (
        f"POST /slow HTTP/1.1\r\nHost: school.example\r\nContent-Type: image/jpeg\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=30) as sock:
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
    [seen] = _requests_to(proxy.upstream, "/slow")
    assert seen.body_bytes == len(body)
    assert seen.arrived - first_byte_sent > 1.0
    assert seen.arrived >= last_byte_sent - 0.05, "the app saw the request while the client was still sending"


def test_the_load_balancers_client_address_is_the_one_hop_the_app_trusts(proxy: Proxy) -> None:
    """nginx's usual `$proxy_add_x_forwarded_for` (EB's default location) appends its peer, the load balancer,
    to X-Forwarded-For; with one trusted hop the app would then rate-limit the whole school as one address.
    Ours pass the load balancer's headers on."""
    from werkzeug.middleware.proxy_fix import ProxyFix
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    status = _post(
        proxy.port,
        "/signin",
        b"email=a%40b.c",
        {"X-Forwarded-For": "198.51.100.9, 203.0.113.7", "X-Forwarded-Proto": "https", "Host": "school.example"},
    )
    assert status == 200
    [seen] = _requests_to(proxy.upstream, "/signin")
    headers = {k.lower(): v for k, v in seen.headers.items()}
    assert headers["x-forwarded-for"] == "198.51.100.9, 203.0.113.7"
    assert headers["x-forwarded-proto"] == "https"
    assert headers["host"] == "school.example"

    # What the app's ProxyFix (TRUSTED_PROXY_HOPS=1, the production default) makes of those headers.
    environ = EnvironBuilder(path="/signin", headers=list(seen.headers.items())).get_environ()
    captured: dict[str, object] = {}

    def app(env: dict[str, object], start_response: object) -> list[bytes]:
        captured.update(env)
        return []

    ProxyFix(app, x_for=1, x_proto=1)(environ, lambda *a: None)  # type: ignore[arg-type]
    request = Request(captured)  # type: ignore[arg-type]
    assert request.remote_addr == "203.0.113.7"  # the address the load balancer saw, not a forged one
    assert request.scheme == "https"


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_nginx_waits_longer_than_gunicorn(layout: Layout) -> None:
    """A long request must end with gunicorn's timeout (logged, worker restarted), not nginx's 504 first."""
    assert _limit(layout, "proxy_read_timeout") > layout.gunicorn_timeout()


def test_each_request_gets_its_own_connection_to_gunicorn(proxy: Proxy) -> None:
    """No kept-alive upstream connections: each would stay with the gunicorn worker that accepted it, and a burst
    of uploads would queue behind that worker's GIL while the others idle (docs/benchmarks.md: upload p99
    164-192 ms with keep-alive, 101-142 ms without). Nor can a POST go out on a connection gunicorn is closing."""
    for path in ("/connection-1", "/connection-2"):
        assert _request(proxy.port, "GET", path).status == 200
    [first], [second] = _requests_to(proxy.upstream, "/connection-1"), _requests_to(proxy.upstream, "/connection-2")
    assert first.peer_port != second.peer_port, "nginx reused an upstream connection"
    sent = {name.lower(): value for name, value in first.headers.items()}
    assert sent.get("connection", "").lower() == "close"  # gunicorn closes it too, instead of waiting 2 s
    config = proxy.layout.limits.read_text()
    assert not re.search(r"^\s*keepalive\s", config, re.M), f"{proxy.layout.limits.name}: upstream keepalive is back"


@pytest.mark.parametrize("proxy", [DOCKER_PROXY], ids=lambda layout: layout.name, indirect=True)
def test_the_docker_proxy_does_not_name_its_version(proxy: Proxy) -> None:
    assert _request(proxy.port, "GET", "/").getheader("Server") == "nginx"
