"""The course's attendance over time as a server-rendered SVG bar chart: no JavaScript, no inline
styles (the CSP forbids them); the template draws it from this geometry, with a table fallback."""

from __future__ import annotations

from dataclasses import dataclass

from .queries import CourseMatrix, SessionTotals

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 36
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
#: every bar has its label: under this many px per bar the labels turn on their side, and under MIN_STEP the chart
#: grows wider than WIDTH (its figure scrolls sideways) rather than leave a bar unnamed
LEVEL_LABEL_STEP = 76
MIN_STEP = 18
ROTATED_BOTTOM = 84  # room under the plot for a label on its side ("2026-11-24" at 11 px, or "· Period 3")


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
    rotated: bool = False  # the bars' labels stand on their side (narrow bars)
    wide: bool = False  # wider than WIDTH: shown at its own size, scrolled sideways

    @property
    def label_y(self) -> float:
        return self.bottom + (14 if self.rotated else 18)


def _y(rate: float) -> float:
    return TOP + PLOT_H * (1 - rate)  # PLOT_H is the same whatever the chart's width and labels


def _percent(rate: float | None) -> str:
    return "no marks" if rate is None else f"{rate * 100:.0f}%"


def attendance_chart(matrix: CourseMatrix) -> Chart | None:
    """One bar per session: the share of marked students who were present or late (excused not counted)."""
    if not matrix.totals:
        return None
    plot_w = max(PLOT_W, MIN_STEP * len(matrix.totals))
    step = plot_w / len(matrix.totals)
    rotated = step < LEVEL_LABEL_STEP
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
                tooltip=f"{total.session.title}: {_percent(rate)} present (late included)",
            )
        )
    x_ticks = [Tick(round(LEFT + (i + 0.5) * step, 2), _tick_text(matrix.totals, i)) for i in range(len(bars))]
    y_ticks = [Tick(round(_y(r), 2), f"{round(r * 100)}%") for r in (0, 0.25, 0.5, 0.75, 1)]
    width = round(LEFT + plot_w + RIGHT)
    return Chart(
        width=width,
        height=TOP + PLOT_H + (ROTATED_BOTTOM if rotated else BOTTOM),
        rotated=rotated,
        wide=width > WIDTH,
        left=LEFT,
        right=width - RIGHT,
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
        f"Bar chart of the share of students present (late included) in each of {n} session{'s' if n != 1 else ''}, "
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
