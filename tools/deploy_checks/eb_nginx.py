"""A real nginx built the way production builds it around this repo's proxy files, on loopback.

- *Python* platform: EB's own nginx includes `.platform/nginx/conf.d/*.conf` in its http block and
  `.platform/nginx/conf.d/elasticbeanstalk/*.conf` in its server block (00_application.conf replaces the
  platform's own `location /`).
- *Docker* platform and docker-compose.yml: the `proxy` container, nginx's official image, whose nginx.conf
  includes `/etc/nginx/conf.d/*.conf` in its http block; deploy/proxy/default.conf is mounted there.

Only the addresses differ (a free loopback port to listen on, the upstream gunicorn's port), and every
path nginx writes is under a scratch directory. Used by tests/deploy/test_nginx_proxy.py and by
`bench.load --proxy`, so both see the proxy a teacher's request goes through in production.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_NGINX = ROOT / ".platform" / "nginx"
APP_SERVER_IN_CONF = "server 127.0.0.1:5000;"  # the Procfile's gunicorn --bind port, EB's PORT in 01_flask.config
DOCKER_PROXY_CONF = ROOT / "deploy" / "proxy" / "default.conf"
WEB_IN_DOCKER_CONF = "server web:5000;"  # the web container, by its link name, gunicorn's --bind port
LISTEN_IN_DOCKER_CONF = "listen 80 default_server;"  # the proxy container's port 80 (host port 80)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)


def main_conf(tmp: Path, http_block: str) -> Path:
    """An nginx.conf with every path under tmp (no root, no /var/lib/nginx), around the given http block."""
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp / sub).mkdir(exist_ok=True)
    user = "user root root;\n" if os.geteuid() == 0 else ""  # a root master would run workers as nobody
    main = tmp / "nginx.conf"
    main.write_text(
        f"""{user}worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
{http_block}
}}
"""
    )
    return main


def eb_python_config(tmp: Path, listen_port: int, upstream_port: int) -> Path:
    """EB's nginx.conf structure around .platform/nginx."""
    conf_d = tmp / "conf.d"
    shutil.copytree(PLATFORM_NGINX / "conf.d", conf_d)
    upstream_conf = conf_d / "attendance.conf"
    text = upstream_conf.read_text()
    if text.count(APP_SERVER_IN_CONF) != 1:
        raise AssertionError("attendance.conf must proxy to the Procfile's gunicorn (server 127.0.0.1:5000;)")
    upstream_conf.write_text(text.replace(APP_SERVER_IN_CONF, f"server 127.0.0.1:{upstream_port};"))
    return main_conf(
        tmp,
        f"""    include {conf_d}/*.conf;
    server {{
        listen 127.0.0.1:{listen_port} default_server;
        include {conf_d}/elasticbeanstalk/*.conf;
    }}""",
    )


def docker_proxy_config(tmp: Path, listen_port: int, upstream_port: int) -> Path:
    """The nginx image's structure (`http { include /etc/nginx/conf.d/*.conf; }`) around deploy/proxy."""
    conf_d = tmp / "conf.d"
    shutil.copytree(DOCKER_PROXY_CONF.parent, conf_d)
    conf = conf_d / DOCKER_PROXY_CONF.name
    text = conf.read_text()
    if text.count(WEB_IN_DOCKER_CONF) != 1:
        raise AssertionError("default.conf must proxy to the web container (web:5000)")
    if text.count(LISTEN_IN_DOCKER_CONF) != 1:
        raise AssertionError("default.conf must listen on the container's port 80")
    text = text.replace(WEB_IN_DOCKER_CONF, f"server 127.0.0.1:{upstream_port};")
    conf.write_text(text.replace(LISTEN_IN_DOCKER_CONF, f"listen 127.0.0.1:{listen_port} default_server;"))
    return main_conf(tmp, f"    include {conf_d}/*.conf;")


BUILDERS = {"eb-python": eb_python_config, "docker-proxy": docker_proxy_config}


def start(main: Path, listen_port: int) -> subprocess.Popen[bytes]:
    """Check the configuration (`nginx -t`), start nginx in the foreground, return once it listens."""
    binary = nginx_binary()
    if binary is None:
        raise FileNotFoundError("nginx not found (run `make nginx` or tools/ensure_nginx.sh)")
    prefix = str(main.parent)
    check = subprocess.run([binary, "-t", "-p", prefix, "-c", str(main)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t failed:\n{check.stderr}")
    proc = subprocess.Popen([binary, "-p", prefix, "-c", str(main), "-g", "daemon off;"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", listen_port), timeout=0.5):
                return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"nginx did not listen on {listen_port}: {(main.parent / 'error.log').read_text()}")
