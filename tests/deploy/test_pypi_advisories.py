"""tools/pypi_advisories.py against a stand-in for PyPI's project JSON endpoint (the real one is not a test)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tools import pypi_advisories

PROJECTS = {
    "clean": {"info": {"version": "2.0"}, "vulnerabilities": []},
    "flawed": {
        "info": {"version": "1.5"},
        "vulnerabilities": [{"id": "PYSEC-2026-1", "aliases": ["CVE-2026-0001"], "fixed_in": ["1.6"]}],
    },
    "behind": {"info": {"version": "3.0"}, "vulnerabilities": []},
}


@pytest.fixture(scope="module")
def index() -> Iterator[str]:
    class Index(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            name = self.path.strip("/").split("/")[0]
            body = json.dumps(PROJECTS[name]).encode() if name in PROJECTS else b""
            self.send_response(200 if body else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Index)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _lock(tmp_path: Path, *pins: str) -> Path:
    path = tmp_path / "x.lock"
    path.write_text("# via uv\n" + "".join(f"{p} \\\n    --hash=sha256:00\n" for p in pins))
    return path


def test_latest_releases_without_advisories_pass(index: str, tmp_path: Path, capsys) -> None:
    assert pypi_advisories.main([str(_lock(tmp_path, "clean==2.0")), "--index", index]) == 0
    assert "1 of 1 pins audited clean" in capsys.readouterr().out


def test_an_advisory_on_a_pinned_latest_release_fails_and_is_named(index: str, tmp_path: Path, capsys) -> None:
    assert pypi_advisories.main([str(_lock(tmp_path, "clean==2.0", "flawed==1.5")), "--index", index]) == 1
    out = capsys.readouterr().out
    assert "flawed==1.5 has known vulnerabilities: PYSEC-2026-1, CVE-2026-0001" in out


def test_older_pins_and_silence_are_listed_not_passed(index: str, tmp_path: Path, capsys) -> None:
    lock = _lock(tmp_path, "behind==2.9", "missing==1.0")
    assert pypi_advisories.main([str(lock), "--index", index]) == 0
    out = capsys.readouterr().out
    assert "0 of 2 pins audited clean" in out
    assert "behind==2.9 (latest 3.0)" in out
    assert "no answer from PyPI for: missing" in out
