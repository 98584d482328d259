"""`make run` (tools/run_dev.py): the address the web really listens on, PORT included, printed last and readable;
Ctrl-C is a clean exit; the JSON log lines carry no terminal colour codes."""

from __future__ import annotations

import io
import json
import logging
import time
from typing import Any

import pytest
from werkzeug.serving import _ansi_style

from tools import run_dev


class _Finished:
    """A process that has already exited: main() starts both, then stops."""

    started: list[list[str]] = []
    returncode_after_stop = 0

    def __init__(self, args: list[str], env: dict[str, str] | None = None, **kwargs: Any) -> None:
        self.args = args
        self.returncode: int | None = 0
        self.stdout = io.BytesIO(b"")
        _Finished.started.append(args)

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode or 0

    def send_signal(self, sig: int) -> None:
        self.returncode = self.returncode_after_stop


class _Running(_Finished):
    """A child that runs until it is sent SIGINT, then exits 1, as flask and celery may."""

    returncode_after_stop = 1

    def __init__(self, args: list[str], env: dict[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(args, env, **kwargs)
        self.returncode = None


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
    assert f"http://127.0.0.1:{expected}" in run_dev.ready_banner(expected)


def test_the_address_comes_last_once_the_web_answers_and_the_output_is_quiet(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The banner waits for the web to answer, the worker to be ready and both to go quiet, then stands on its own
    lines."""
    monkeypatch.setattr(run_dev, "QUIET_S", 0.2)
    relay = run_dev.OutputRelay()
    worker = io.BytesIO(b'{"logger": "celery.apps.worker", "message": "celery@vm ready."}\n')
    relay.follow(worker)
    procs = [_Running(["flask"]), _Running(["celery"])]
    calls: list[str] = []

    def answers(port: str) -> bool:
        calls.append(port)
        return len(calls) > 2  # the web answers from the third try on

    assert run_dev.wait_until_started(procs, relay, "5077", answers)
    assert len(calls) >= 3 and relay.worker_ready.is_set()
    relay.say(run_dev.ready_banner("5077"))
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()]
    assert "celery@vm ready." in lines[0]
    assert lines[1] == "Student Attendance is running: http://127.0.0.1:5077"
    assert lines[-1] == "Ctrl-C stops the web and the worker."


def test_no_banner_before_the_worker_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run_dev, "QUIET_S", 0.0)
    monkeypatch.setattr(run_dev, "START_TIMEOUT_S", 0.5)
    relay = run_dev.OutputRelay()
    relay.follow(io.BytesIO(b'{"logger": "celery.beat", "message": "beat: Starting..."}\n'))
    started = time.monotonic()
    assert run_dev.wait_until_started([_Running(["flask"])], relay, "5077", lambda port: True)
    assert time.monotonic() - started >= 0.5  # waited for the ready line until the timeout


def test_a_child_that_stops_before_the_start_gets_no_banner() -> None:
    procs = [_Finished(["flask"]), _Running(["celery"])]
    assert run_dev.wait_until_started(procs, run_dev.OutputRelay(), "5077", lambda port: True) is False


def test_ctrl_c_ends_with_a_clean_exit_even_when_the_children_exit_1(
    monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """make printed '*** Error 1' after Ctrl-C: main() returned the children's status."""
    monkeypatch.setattr(run_dev.subprocess, "Popen", _Running)

    def interrupted(*args: Any, **kwargs: Any) -> bool:
        raise KeyboardInterrupt

    monkeypatch.setattr(run_dev, "wait_until_started", interrupted)
    assert run_dev.main() == 0
    assert "Stopped." in capsys.readouterr().out


def test_json_log_lines_carry_no_terminal_colour_codes() -> None:
    from attendance_shared.logs import json_handler

    stream = io.StringIO()
    logger = logging.getLogger("test.werkzeug.colours")
    logger.addHandler(json_handler("web", stream))
    logger.setLevel(logging.INFO)
    logger.info("%s", _ansi_style("Press CTRL+C to quit", "yellow"))
    line = stream.getvalue().strip()
    assert "\\u001b" not in line and "\x1b" not in line
    assert json.loads(line)["message"] == "Press CTRL+C to quit"


def test_the_readme_documents_port() -> None:
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "PORT=5077 make run" in readme
    assert "| `PORT` |" in readme


def test_each_child_has_a_process_group_of_its_own_and_dies_with_the_launcher(monkeypatch: pytest.MonkeyPatch) -> None:
    """So that stopping a child's group stops what it started (the worker's beat and pool), and a launcher killed
    outright still stops them (tests/faults/test_run_dev_tree.py runs the real processes)."""
    import sys

    seen: list[dict[str, Any]] = []

    class _Recorded(_Finished):
        def __init__(self, args: list[str], env: dict[str, str] | None = None, **kwargs: Any) -> None:
            super().__init__(args, env, **kwargs)
            seen.append(kwargs)

    monkeypatch.setattr(run_dev.subprocess, "Popen", _Recorded)
    assert run_dev.main() == 0
    assert len(seen) == 2 and all(kwargs["process_group"] == 0 for kwargs in seen)
    if sys.platform.startswith("linux"):
        assert all(callable(kwargs["preexec_fn"]) for kwargs in seen)
