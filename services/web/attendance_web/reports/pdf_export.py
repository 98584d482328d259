"""A report as a PDF: title, notes, then each table, wide ones split by columns, long ones over pages.

A Unicode TTF font (DejaVu Sans when the system has it) so names such as "Zoë" render, with Droid
Sans Fallback for Chinese, Japanese and Korean ones; characters neither font has are shown as "?" rather
than silently dropped.
"""

from __future__ import annotations

import logging
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from .document import Cell, Document, Table

FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # Debian / Ubuntu: fonts-dejavu-core
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),  # Fedora
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),  # Arch
    Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"),
)
# For the characters DejaVu Sans lacks: Chinese, Japanese and Korean names (Debian's fonts-droid-fallback, Apache-2.0).
FALLBACK_FAMILY = "ReportCJK"
FALLBACK_FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),  # Debian / Ubuntu: fonts-droid-fallback
    Path("/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf"),  # Fedora
)
CELL_PADDING = 1.0  # mm, each side of a PDF table cell
MAX_CELL_LINES = 4  # a long note wraps in its cell up to this many lines
PDF_COLUMNS_PER_PAGE = 18  # a wide table (a course's sessions) continues on further pages
# Line breaks in a cell: Chinese and Japanese put no spaces between words, so a line may end after any wide
# character, except before closing punctuation and after opening punctuation (kinsoku).
_NO_LINE_START = frozenset(
    ",.:;?!)]}%\u2019\u201d\u00bb"  # Latin closing punctuation and quotes
    "\uff0c\uff0e\uff1a\uff1b\uff1f\uff01\uff09\uff3d\uff5d"  # their full-width forms
    "\u3001\u3002\u3009\u300b\u300d\u300f\u3011\u3015\u3017\u3019\u301f"  # 、。 and closing brackets
    "\u3005\u309d\u309e\u30fd\u30fe\u30fb\u30fc"  # iteration marks, middle dot, long vowel mark
    "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"  # small kana
)
_NO_LINE_END = frozenset(
    "([{\u2018\u201c\u00ab"  # Latin opening brackets and quotes
    "\uff08\uff3b\uff5b\u3008\u300a\u300c\u300e\u3010\u3014\u3016\u3018\u301d"  # full-width and CJK ones
)
_FIRST_WIDE = "\u1100"  # no character before Hangul Jamo is East Asian wide: a Latin word is one unit, unexamined

log = logging.getLogger(__name__)


def find_unicode_font() -> Path | None:
    """DejaVu Sans from the system (Debian's fonts-dejavu-core), or None: then core Helvetica."""
    return next((p for p in FONT_CANDIDATES if p.is_file()), None)


def _characters(doc: Document) -> set[str]:
    """Every character the document prints: the CJK font (4 MB to parse) is loaded only when one needs it."""
    chars = set(doc.title)
    for text in doc.notes:
        chars.update(text)
    for table in doc.tables:
        chars.update(table.title)
        rows: list[Sequence[Cell]] = [table.header, table.pdf_header or [], *table.rows]
        for row in rows:
            for value in row:
                if isinstance(value, str):
                    chars.update(value)
    return chars


def find_fallback_font() -> Path | None:
    """A font with CJK glyphs for what DejaVu Sans lacks (Debian's fonts-droid-fallback), or None."""
    return next((p for p in FALLBACK_FONT_CANDIDATES if p.is_file()), None)


class _Pdf:
    """fpdf2 with the report's font chosen once, and text made printable in that font."""

    def __init__(self, title: str, characters: set[str] | frozenset[str] = frozenset()) -> None:
        from fpdf import FPDF
        from fpdf.fonts import TTFFont

        self.pdf = FPDF(orientation="landscape", format="A4")
        self.pdf.set_title(title)
        self.pdf.set_creator("Student Attendance System")
        self.pdf.set_auto_page_break(auto=True, margin=12)
        self.pdf.set_margins(10, 10, 10)
        self._widest_by_font: dict[str, tuple[list[int], list[float]]] = {}  # see _widest()
        self.has_fallback = False  # the CJK font is loaded, and text split into runs, only when some text needs it
        font = find_unicode_font()
        if font is not None:
            bold = font.with_name("DejaVuSans-Bold.ttf")
            self.pdf.add_font("Report", "", str(font))
            self.pdf.add_font("Report", "B", str(bold if bold.is_file() else font))
            self.family = "Report"
            self.cmap: set[int] | None = set(cast(TTFFont, self.pdf.fonts["report"]).cmap)
            self.main_cmap = frozenset(self.cmap)
            needs_fallback = any(ord(ch) not in self.main_cmap and ch.isprintable() for ch in characters)
            fallback = find_fallback_font() if needs_fallback else None
            if fallback is not None:  # a printed register must name 李小龍, not "???"
                for style in ("", "B"):  # one weight: its regular glyphs for bold text too
                    self.pdf.add_font(FALLBACK_FAMILY, style, str(fallback))
                self.pdf.set_fallback_fonts([FALLBACK_FAMILY], exact_match=False)  # for multi_cell (titles, notes)
                self.cmap |= set(cast(TTFFont, self.pdf.fonts[FALLBACK_FAMILY.lower()]).cmap)
                self.has_fallback = True
            elif needs_fallback:
                log.warning("no CJK font found (fonts-droid-fallback): Chinese and Japanese characters print as '?'")
        else:
            log.warning("no Unicode TTF font found; PDF exports use Helvetica (Latin-1 only)")
            self.family = "Helvetica"
            self.cmap = None
            self.main_cmap = frozenset()

    def _runs(self, text: str) -> list[tuple[str, str]]:
        """(family, text) pieces: the report font where it has the glyph, the CJK fallback elsewhere."""
        if not self.has_fallback or all(ord(ch) in self.main_cmap or ch == " " for ch in text):
            return [(self.family, text)]
        runs: list[tuple[str, str]] = []
        for ch in text:
            family = self.family if ord(ch) in self.main_cmap or ch == " " else FALLBACK_FAMILY
            if runs and runs[-1][0] == family:
                runs[-1] = (family, runs[-1][1] + ch)
            else:
                runs.append((family, ch))
        return runs

    def width(self, text: str) -> float:
        """The printed width in the current style and size, each piece measured in the font that draws it."""
        if not self.has_fallback:
            return float(self.pdf.get_string_width(text))
        runs = self._runs(text)
        if len(runs) == 1 and runs[0][0] == self.family:
            return float(self.pdf.get_string_width(text))
        style, size = self.pdf.font_style, self.pdf.font_size_pt
        total = 0.0
        for family, run in runs:
            self.pdf.set_font(family, style, size)
            total += self.pdf.get_string_width(run)
        self.pdf.set_font(self.family, style, size)
        return total

    def draw(self, x: float, y: float, text: str) -> None:
        """text() at (x, y): fpdf2 applies fallback fonts in cell() only, which is six times slower here."""
        if not self.has_fallback:
            self.pdf.text(x, y, text)
            return
        runs = self._runs(text)
        if len(runs) == 1 and runs[0][0] == self.family:
            self.pdf.text(x, y, text)
            return
        style, size = self.pdf.font_style, self.pdf.font_size_pt
        for family, run in runs:
            self.pdf.set_font(family, style, size)
            self.pdf.text(x, y, run)
            x += self.pdf.get_string_width(run)
        self.pdf.set_font(self.family, style, size)

    def _widest(self, text: str) -> float:
        """An upper bound of the advance (in ems) of every character of a non-empty text in the current font: the
        widest glyph of the font up to the text's highest code point, or a missing glyph's width if wider."""
        font = cast(Any, self.pdf.current_font)  # CoreFont (Helvetica) or TTFFont, set by set_font()
        table = self._widest_by_font.get(font.fontkey)
        if table is None:  # once per font: DejaVu Sans has 6,000 glyphs
            cw: dict[Any, float] = font.cw  # code point (Helvetica: character) -> advance in 1/1000 em
            missing = getattr(cw, "default_factory", None)  # a glyph the font lacks (fpdf2 draws its .notdef)
            advances = sorted((code if isinstance(code, int) else ord(code), width) for code, width in cw.items())
            widest = [float(missing()) if missing else 0.0]
            for _, width in advances:
                widest.append(max(widest[-1], width))
            table = self._widest_by_font[font.fontkey] = ([code for code, _ in advances], widest)
        codes, widest = table
        return widest[bisect_right(codes, ord(max(text)))] / 1000

    def fits(self, text: str, width: float) -> bool:
        """Whether text fits its cell, measured only when it may not. The estimate, each character as wide as the
        widest glyph it could be (``_widest``: 1 em for ASCII, where "@" is), never falls short: an all-capitals name
        ("WOJCIECHOWSKA-MAŁGORZATA KOWALCZYK", 0.67 em a character) passed the old 0.62 em and ran into the next
        column. It holds for the report font's text only: a Chinese character is measured."""
        padding = 2 * CELL_PADDING
        if not text:
            return True
        if len(text) * self.pdf.font_size * self._widest(text) + padding <= width and not (
            self.has_fallback and not all(ord(ch) in self.main_cmap for ch in text)
        ):
            return True
        return self.width(text) + padding <= width

    def fit(self, text: str, width: float) -> str:
        """Cut text that would overflow its cell, with an ellipsis."""
        if self.fits(text, width):
            return text
        padding = 2 * CELL_PADDING
        while text and self.width(text + "...") + padding > width:
            text = text[:-1]
        return text + "..."

    def wrap(self, text: str, width: float, max_lines: int = MAX_CELL_LINES) -> list[str]:
        """Lines of at most `width`, the last one cut with an ellipsis: a teacher's note is read whole, not as
        "Arrived 10 minutes late;...". Lines break between words, between Chinese or Japanese characters
        (unspaced text), and inside a word too long for a line of its own. One line, unmeasured, when it fits."""
        if self.fits(text, width):
            return [text] if text else []
        room = width - 2 * CELL_PADDING
        lines: list[str] = []
        line = ""
        for word in text.split():
            for n, unit in enumerate([word] if max(word) < _FIRST_WIDE else _break_units(word)):
                candidate = f"{line} {unit}" if line and n == 0 else line + unit
                if len(lines) == max_lines - 1 or self.fits(candidate, width):
                    line = candidate  # the last allowed line takes the rest, cut by fit() below
                    continue
                if line:
                    lines.append(line)
                    line = ""
                while len(lines) < max_lines - 1 and not self.fits(unit, width):  # wider than a line: cut it
                    head = self._longest_prefix(unit, room)
                    lines.append(head)
                    unit = unit[len(head) :]
                line = unit
        lines.append(line)
        return [self.fit(part, width) for part in lines]

    def _longest_prefix(self, text: str, room: float) -> str:
        """The longest start of text (one character at least) that fits in room."""
        low, high = 1, len(text)  # a binary search: a 200-character unbroken string is 8 measures, not 200
        while low < high:
            mid = (low + high + 1) // 2
            if self.width(text[:mid]) <= room:
                low = mid
            else:
                high = mid - 1
        return text[:low]

    def text(self, value: Cell) -> str:
        """The value as text the font can draw, on one line: in a text holding a line break (CR LF, LF, CR), a tab
        or a no-break or ideographic space, each run of whitespace is one space (they separate words: dropped, a
        note's "late" and "bus" ran together); other control characters are dropped; characters the font has no
        glyph for become '?'."""
        if value is None:
            return ""
        s = value if isinstance(value, str) else _number(value)
        if not s.isprintable():  # line breaks, tabs, no-break spaces separate words: "late\nbus" is "late bus"
            s = "".join(ch for ch in " ".join(s.split()) if ch.isprintable())
        if self.cmap is None:
            return s.encode("latin-1", "replace").decode("latin-1")
        return "".join(ch if ord(ch) in self.cmap or ch == " " else "?" for ch in s)


def _break_units(word: str) -> list[str]:
    """A word cut where a line may break: around each wide (Chinese, Japanese, Korean) character, never before
    closing punctuation nor after opening punctuation. "他说「你好。」" -> 他, 说, 「你, 好。」."""
    units: list[str] = []
    wide_before = False
    for ch in word:
        wide = unicodedata.east_asian_width(ch) in ("W", "F")
        if units and (ch in _NO_LINE_START or units[-1][-1] in _NO_LINE_END or not (wide or wide_before)):
            units[-1] += ch
        else:
            units.append(ch)
        wide_before = wide
    return units


def _number(value: int | float) -> str:
    """0.868 stays 0.868 (a similarity), 87.5 stays 87.5 (a rate): up to three decimals, no trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def _chunks(table: Table) -> list[tuple[list[str], list[list[Cell]]]]:
    """Split a wide table by columns, repeating the key columns (the student) on every part."""
    k = table.key_columns
    names = table.pdf_header or table.header
    rest = list(range(k, len(table.header)))
    width = max(PDF_COLUMNS_PER_PAGE - k, 1)
    parts = [rest[i : i + width] for i in range(0, len(rest), width)] or [[]]
    return [
        (
            [names[i] for i in [*range(k), *cols]],
            [[row[i] for i in [*range(k), *cols]] for row in table.rows],
        )
        for cols in parts
    ]


def to_pdf(doc: Document) -> bytes:
    """Title, notes, then each table; a wide table continues in parts that repeat its key columns,
    a long one on further pages that repeat its header. Plain cells, not fpdf2's table(): a
    500 x 100 course report is 60,000 cells."""
    out = _Pdf(doc.title, _characters(doc))
    pdf = out.pdf
    pdf.add_page()
    pdf.set_font(out.family, "B", 14)
    pdf.multi_cell(0, 7, out.text(doc.title), new_x="LMARGIN", new_y="NEXT", align="L")  # not justified
    pdf.set_font(out.family, "", 9)
    for note in doc.notes:
        pdf.multi_cell(0, 5, out.text(note), new_x="LMARGIN", new_y="NEXT")
    for table in doc.tables:
        parts = _chunks(table)
        for n, (header, rows) in enumerate(parts, start=1):
            pdf.ln(3)
            if pdf.get_y() + 20 > pdf.page_break_trigger:  # keep a title with its first rows
                pdf.add_page()
            pdf.set_font(out.family, "B", 11)
            suffix = f" (part {n} of {len(parts)})" if len(parts) > 1 else ""
            pdf.multi_cell(0, 6, out.text(table.title + suffix), new_x="LMARGIN", new_y="NEXT", align="L")
            if not rows:
                pdf.set_font(out.family, "", 9)
                pdf.multi_cell(0, 5, "Nothing to show.", new_x="LMARGIN", new_y="NEXT")
                continue
            _draw_table(out, header, rows, table.key_columns)
    return bytes(pdf.output())


def _draw_table(out: _Pdf, header: list[str], rows: list[list[Cell]], key_columns: int) -> None:
    """Text placed with text() and the grid drawn as lines: six times faster than a bordered cell()
    per value, which matters for a 500 x 100 course report (60,000 values)."""
    pdf = out.pdf
    size = 7 if len(header) > 8 else 9
    line_h = size * 0.55
    widths = _pdf_widths(len(header), key_columns, pdf.epw)
    xs = [pdf.l_margin]
    for width in widths:
        xs.append(xs[-1] + width)
    baseline = line_h * 0.75

    def layout(cells: Sequence[Cell], style: str) -> list[list[str]]:
        pdf.set_font(out.family, style, size)
        return [out.wrap(out.text(value), width) for width, value in zip(widths, cells, strict=False)]

    def draw(lines: list[list[str]], style: str) -> None:
        pdf.set_font(out.family, style, size)
        y = pdf.get_y()
        for x, cell in zip(xs, lines, strict=False):
            for n, text in enumerate(cell):
                out.draw(x + CELL_PADDING, y + baseline + n * line_h, text)
        height = line_h * max([1, *(len(cell) for cell in lines)])
        pdf.line(xs[0], y + height, xs[-1], y + height)
        pdf.set_y(y + height)

    def grid(top: float) -> None:
        pdf.line(xs[0], top, xs[-1], top)
        for x in xs:
            pdf.line(x, top, x, pdf.get_y())

    pdf.set_draw_color(150)
    pdf.set_line_width(0.15)
    top = pdf.get_y()
    head = layout(header, "B")
    draw(head, "B")
    for row in rows:
        cells = layout(row, "")
        if pdf.get_y() + line_h * max([1, *(len(cell) for cell in cells)]) > pdf.page_break_trigger:
            grid(top)
            pdf.add_page()
            top = pdf.get_y()
            draw(head, "B")
        draw(cells, "")
    grid(top)


def _pdf_widths(count: int, key_columns: int, total: float) -> list[float]:
    """Key columns (the student) wide, the rest (marks, counts) sharing what is left."""
    if count <= 4:
        return [total / count] * count
    key = [min(55.0, total * 0.3)] + [22.0] * (key_columns - 1)
    rest = (total - sum(key)) / max(count - key_columns, 1)
    return key + [rest] * (count - key_columns)
