"""Drawing blocks for printable landscape pages (fpdf2): the framed page and its fonts, wrapped
and fitted text, table rows of styled lines, vector QR codes, page numbers.

Fonts are DejaVu Sans (regular, bold, oblique) and DejaVu Serif bold, embedded as subsets from
``fonts/`` beside this module. A character the serif lacks is drawn from the sans; one neither
has (Chinese, Japanese, Korean) from Droid Sans Fallback, which is loaded only for a document
that needs it. Scripts that need shaping (Arabic, Devanagari, ...) print their letters
unjoined.

Pure: draws in memory; reads nothing but the vendored fonts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import segno
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, XPos, YPos

FONTS: Final = Path(__file__).parent / "fonts"

RGB = tuple[int, int, int]
INK: Final[RGB] = (33, 37, 41)
ACCENT: Final[RGB] = (28, 55, 90)
MUTED: Final[RGB] = (95, 104, 115)
RULE: Final[RGB] = (200, 206, 214)
TINT: Final[RGB] = (237, 241, 246)
STRIPE: Final[RGB] = (248, 249, 251)

# A4 and Letter landscape share 279.4 x 210 mm; everything is placed relative to the page's
# own size, with margins that keep the content inside that shared area on either.
FRAME_MM: Final = 8.0
MARGIN_MM: Final = 18.0
FOOTER_MM: Final = 20.0  # from the page's bottom edge to the lowest content
PAD_X: Final = 2.0  # table cell padding
PAD_Y: Final = 1.8


class Page(FPDF):
    """A framed landscape page in mm. Pages after the first carry ``running_head`` at the top;
    ``texts`` is every string the document will print (to decide which fonts it needs)."""

    def __init__(self, paper: Literal["A4", "Letter"], texts: Iterable[str],
                 running_head: str = "") -> None:
        super().__init__(orientation="landscape", unit="mm", format=paper.lower())
        self.running_head = running_head
        self.add_font("sans", "", FONTS / "DejaVuSans.ttf")
        self.add_font("sans", "B", FONTS / "DejaVuSans-Bold.ttf")
        self.add_font("sans", "I", FONTS / "DejaVuSans-Oblique.ttf")
        self.add_font("serif", "B", FONTS / "DejaVuSerif-Bold.ttf")
        fallbacks = ["sans"]
        covered = self.fonts["sans"].cmap  # type: ignore[union-attr]
        if any(ord(ch) not in covered for text in texts for ch in text if not ch.isspace()):
            # Parsing the 3 MB CJK font takes longer than the rest: only when it is needed.
            self.add_font("fallback", "", FONTS / "DroidSansFallback.ttf")
            fallbacks.append("fallback")
        self.set_fallback_fonts(fallbacks, exact_match=False)
        self.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.c_margin = 0  # text is placed exactly; tables pad their cells with PAD_X
        self.set_auto_page_break(False)  # the layout decides where pages break
        self.set_text_color(*INK)

    @property
    def content_w(self) -> float:
        return self.w - 2 * MARGIN_MM

    @property
    def bottom(self) -> float:
        """The lowest y content may reach (the page number sits below)."""
        return self.h - FOOTER_MM

    def header(self) -> None:
        self.set_draw_color(*ACCENT)
        self.set_line_width(0.9)
        self.rect(FRAME_MM, FRAME_MM, self.w - 2 * FRAME_MM, self.h - 2 * FRAME_MM)
        self.set_line_width(0.25)
        inset = FRAME_MM + 1.8
        self.rect(inset, inset, self.w - 2 * inset, self.h - 2 * inset)
        if self.page > 1 and self.running_head:
            self.set_xy(MARGIN_MM, 14)
            self.set_font("sans", "", 8)
            self.set_text_color(*MUTED)
            self.cell(self.content_w, 5, self.running_head, align="C")
            self.set_text_color(*INK)
            self.set_y(23)

    def text_line(self, text: str, *, size: float, style: str = "", family: str = "sans",
                  color: RGB = INK, gap: float = 0.0, width: float | None = None,
                  x: float | None = None, align: str = "C", link: str | None = None) -> None:
        """Text that wraps within ``width`` (the content width), then ``gap`` mm of space."""
        self.set_font(family, style, size)
        self.set_text_color(*color)
        self.set_x(MARGIN_MM if x is None else x)
        self.multi_cell(width or self.content_w, size * 0.5, text, align=align, link=link,
                        new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(gap)

    def fit_size(self, text: str, family: str, style: str, size: float, smallest: float,
                 width: float) -> float:
        """The largest size from ``size`` down to ``smallest`` (by 0.5 pt) at which ``text``
        fits on one line of ``width``."""
        while size > smallest:
            self.set_font(family, style, size)
            if self.get_string_width(text) <= width:
                break
            size -= 0.5
        return size

    def rule(self, x1: float, x2: float, y: float, color: RGB = RULE,
             width: float = 0.2) -> None:
        self.set_draw_color(*color)
        self.set_line_width(width)
        self.line(x1, y, x2, y)


# --- Tables -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Line:
    """One styled piece of a table cell (a cell stacks one or more; each wraps on its own)."""

    text: str
    size: float = 9.0
    style: str = ""
    color: RGB = INK


Cell = Sequence[Line]


@dataclass(frozen=True)
class Column:
    heading: str
    width: float
    align: str  # "L", "C" or "R"


Laid = list[list[tuple[Line, list[str]]]]  # per column: each line and its wrapped parts


def _leading(line: Line) -> float:
    return line.size * 0.47


def lay_out(pdf: Page, columns: Sequence[Column], cells: Sequence[Cell]) -> Laid:
    """Wrap each cell's lines to its column (measured, nothing drawn)."""
    laid: Laid = []
    for column, cell in zip(columns, cells, strict=True):
        out = []
        for line in cell:
            if not line.text:
                out.append((line, [""]))
                continue
            pdf.set_font("sans", line.style, line.size)
            wrapped: Any = pdf.multi_cell(column.width - 2 * PAD_X, _leading(line), line.text,
                                          dry_run=True, output=MethodReturnValue.LINES)
            out.append((line, list(wrapped)))
        laid.append(out)
    return laid


def row_height(laid: Laid) -> float:
    used = (sum(_leading(line) * len(parts) for line, parts in cell) for cell in laid)
    return max(used, default=0.0) + 2 * PAD_Y


def draw_row(pdf: Page, columns: Sequence[Column], laid: Laid, *, fill: RGB | None = None,
             rule: RGB = RULE, rule_w: float = 0.2) -> None:
    """One row at the current y, cells centred vertically, a rule beneath; y moves below."""
    height = row_height(laid)
    top = pdf.get_y()
    if fill is not None:
        pdf.set_fill_color(*fill)
        # Below the rule above (at most 0.4 mm wide, centred on ``top``), never over it.
        pdf.rect(MARGIN_MM, top + 0.2, pdf.content_w, height - 0.2, style="F")
    x = MARGIN_MM
    for column, cell in zip(columns, laid, strict=True):
        used = sum(_leading(line) * len(parts) for line, parts in cell)
        y = top + (height - used) / 2
        for line, parts in cell:
            pdf.set_font("sans", line.style, line.size)
            pdf.set_text_color(*line.color)
            for part in parts:
                pdf.set_xy(x + PAD_X, y)
                if part:
                    pdf.cell(column.width - 2 * PAD_X, _leading(line), part,
                             align=column.align)
                y += _leading(line)
        x += column.width
    pdf.set_text_color(*INK)
    pdf.rule(MARGIN_MM, MARGIN_MM + pdf.content_w, top + height, rule, rule_w)
    pdf.set_y(top + height)


def draw_headings(pdf: Page, columns: Sequence[Column]) -> None:
    """The heading row. One size for all headings, at which each one's longest word fits its
    column: no heading breaks inside a word, and none looks louder than the others."""
    size = min(pdf.fit_size(word, "sans", "B", 8, 5.5, c.width - 2 * PAD_X)
               for c in columns for word in c.heading.split() or [""])
    cells = [[Line(c.heading, size=size, style="B", color=ACCENT)] for c in columns]
    draw_row(pdf, columns, lay_out(pdf, columns, cells), fill=TINT, rule=ACCENT, rule_w=0.4)


# --- The rest ---------------------------------------------------------------------------

def draw_qr(pdf: Page, data: str, x: float, y: float, size: float) -> None:
    """A QR code of ``data`` as vector squares (sharp at any print size), without its quiet
    zone: keep 4 modules clear around it."""
    qr = segno.make(data, error="m", micro=False)
    rows = [list(row) for row in qr.matrix_iter(border=0)]
    module = size / len(rows)
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            # Dark runs merged; a hair larger than the module so neighbours print seamless.
            pdf.rect(x + start * module, y + r * module, (c - start) * module + 0.02,
                     module + 0.02, style="F")


def number_pages(pdf: Page, label: str) -> None:
    """Each page's foot: ``label``, and "Page n of N" once there is more than one page.
    Drawn last, when N is known."""
    pages = pdf.page
    for page in range(1, pages + 1):
        pdf.page = page
        text = label + (f" · Page {page} of {pages}" if pages > 1 else "")
        pdf.set_font("sans", "", 7.5)
        pdf.set_text_color(*MUTED)
        pdf.set_xy(MARGIN_MM, pdf.h - FRAME_MM - 7.5)
        pdf.cell(pdf.content_w, 4, text, align="C")
    pdf.page = pages
    pdf.set_text_color(*INK)
