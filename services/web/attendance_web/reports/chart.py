"""The course's attendance over time as a server-rendered SVG bar chart: no JavaScript, no inline
styles (the CSP forbids them); the template draws it from this geometry, with a table fallback."""

from __future__ import annotations

from dataclasses import dataclass

from .queries import CourseMatrix, SessionTotals

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 36
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_DATE_LABELS = 6


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    below: bool
    tooltip: str


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: float
    top: int
    bottom: float
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    threshold_y: float
    description: str


def _y(rate: float) -> float:
    return TOP + PLOT_H * (1 - rate)


def _percent(rate: float | None) -> str:
    return "no marks" if rate is None else f"{rate * 100:.0f}%"


def attendance_chart(matrix: CourseMatrix) -> Chart | None:
    """One bar per session: the share of marked students who were present (excused not counted)."""
    if not matrix.totals:
        return None
    step = PLOT_W / len(matrix.totals)
    bar_w = max(step * 0.7, 1.0)
    bars = []
    for i, total in enumerate(matrix.totals):
        rate = total.tally.rate
        x = LEFT + i * step + (step - bar_w) / 2
        height = PLOT_H * rate if rate is not None else 0.0
        bars.append(
            Bar(
                x=round(x, 2),
                y=round(TOP + PLOT_H - height, 2),
                width=round(bar_w, 2),
                height=round(height, 2),
                below=rate is not None and rate < matrix.threshold,
                tooltip=f"{total.session.title}: {_percent(rate)} present",
            )
        )
    every = max(1, -(-len(matrix.totals) // MAX_DATE_LABELS))
    x_ticks = [
        Tick(round(LEFT + (i + 0.5) * step, 2), _tick_text(matrix.totals, i))
        for i, t in enumerate(matrix.totals)
        if i % every == 0
    ]
    y_ticks = [Tick(round(_y(r), 2), f"{round(r * 100)}%") for r in (0, 0.25, 0.5, 0.75, 1)]
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=TOP + PLOT_H,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        threshold_y=round(_y(matrix.threshold), 2),
        description=_describe(matrix),
    )


def _describe(matrix: CourseMatrix) -> str:
    rated = [(t.tally.rate, t.session) for t in matrix.totals if t.tally.rate is not None]
    n = len(matrix.totals)
    text = (
        f"Bar chart of the share of students present in each of {n} session{'s' if n != 1 else ''}, "
        f"{matrix.sessions[0].date.isoformat()} to {matrix.sessions[-1].date.isoformat()}."
    )
    if rated:
        low_rate, low_session = min(rated, key=lambda r: r[0] or 0.0)
        high_rate, high_session = max(rated, key=lambda r: r[0] or 0.0)
        text += (
            f" Overall {_percent(matrix.tally.rate)}; lowest {_percent(low_rate)} on {low_session.title};"
            f" highest {_percent(high_rate)} on {high_session.title}."
        )
    text += (
        f" The dashed line marks the {round(matrix.threshold * 100)}% threshold."
        " The same figures are in the table after the chart."
    )
    return text


def _tick_text(totals: list[SessionTotals], i: int) -> str:
    """The date; a later session of the same day shows its label instead ("· 2"), so the axis does not repeat."""
    session = totals[i].session
    if i and totals[i - 1].session.date == session.date:
        return f"· {session.label or '?'}"
    return session.date.isoformat()
