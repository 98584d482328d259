"""`make run` (tools/run_dev.py) says the address the web really listens on, PORT included."""

from __future__ import annotations

from typing import Any

import pytest

from tools import run_dev


class _Finished:
    """A process that has already exited: main() starts both, prints the address, then stops."""

    started: list[list[str]] = []

    def __init__(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.args = args
        self.returncode = 0
        _Finished.started.append(args)

    def poll(self) -> int:
        return 0

    def wait(self, timeout: float | None = None) -> int:
        return 0


@pytest.mark.parametrize(("port", "expected"), [("5077", "5077"), (None, "5000"), ("", "5000"), (" 8080 ", "8080")])
def test_the_printed_address_is_the_one_the_web_listens_on(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, port: str | None, expected: str
) -> None:
    if port is None:
        monkeypatch.delenv("PORT", raising=False)
    else:
        monkeypatch.setenv("PORT", port)
    _Finished.started = []
    monkeypatch.setattr(run_dev.subprocess, "Popen", _Finished)
    assert run_dev.main() == 0
    flask = next(args for args in _Finished.started if args[0].endswith("flask"))
    assert flask[flask.index("--port") + 1] == expected
    assert f"starting on http://127.0.0.1:{expected} " in capsys.readouterr().out
