"""heavy_steps: however many of a web process's threads decode photos or render reports, at most HEAVY_AT_ONCE do
it at the same time (the single instance's web holds 8 threads in 256 MiB)."""

from __future__ import annotations

import threading
import time

from attendance_web import heavy_steps
from attendance_web.heavy_steps import heavy_step
from attendance_web.reports import formats


def test_at_most_two_heavy_steps_at_once(monkeypatch) -> None:
    inside, most = 0, 0
    lock = threading.Lock()

    def slow(*_args: object) -> bytes:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
        time.sleep(0.05)
        with lock:
            inside -= 1
        return b""

    def view() -> None:  # as sessions.views.view does around fetching and decoding a photo
        with heavy_step():
            slow()

    monkeypatch.setattr(formats, "_render", slow)
    calls = [view, lambda: formats.render(None, "pdf")] * 4  # type: ignore[arg-type]
    threads = [threading.Thread(target=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most == heavy_steps.HEAVY_AT_ONCE == 2
    assert inside == 0
