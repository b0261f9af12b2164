"""The PDF writer: a report is a title, an optional verdict, and sections of paragraphs, tables and
a map image. reportlab lays it out on A4 with the CJK TrueType font embedded (text stays text:
searchable, copyable, extractable)."""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from .fonts import cjk_font
from .stamp import beijing, doc_number

FONT = "RiskCJK"
VERDICT_COLORS = {"pass": "#238b45", "conditional": "#e6550d", "fail": "#cb181d"}
ROW_COLORS = {"fail": "#fee0d2", "warn": "#fff3c4", "pass": "#e5f5e0", "not_evaluated": "#eeeeee"}
CELL_FONT_PT = 7.5
CELL_MAX_LINES = 48   # a table row must fit on one A4 page (reportlab cannot split inside a row)
CUT_NOTE = " …（截断，全文见 JSON 结果 cut: full text in the JSON result）"


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Any]]
    widths: list[float] | None = None          # fractions of the text width
    row_classes: Sequence[str | None] | None = None


@dataclass
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    table: Table | None = None
    image_png: bytes | None = None
    bullets: list[str] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str = ""
    verdict: str | None = None
    verdict_class: str | None = None
    sections: list[Section] = field(default_factory=list)
    kind: str = "report"            # the document number's kind: RM-<KIND>-<Beijing date-time>-<hash>
    map_credit: str = ""            # the basemap's attribution and 审图号, printed as text under every map image


def _numbered_canvas(font_name: str, footer: str):
    """A reportlab canvas class that prints ``footer`` (document number · Beijing time) and "第 n / N 页 page n of
    N" on every page: pages are kept until the end so N is known (the usual two-pass pattern of reportlab)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen.canvas import Canvas

    class NumberedCanvas(Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages: list[dict] = []

        def showPage(self):  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            total = len(self._pages)
            for i, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                self.setFont(font_name, 7)
                self.setFillColor(colors.HexColor("#555555"))
                self.drawString(14 * mm, 8 * mm, plain_superscripts(footer))
                self.drawRightString(A4[0] - 14 * mm, 8 * mm, f"第 {i} / {total} 页 page {i} of {total}")
                super().showPage()
            super().save()

    return NumberedCanvas


@lru_cache(maxsize=8)  # reportlab's font registry is process-wide: register each font file once
def _register_font(path: Path) -> str:
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    # binary (Flate) image streams, not ASCII85 text: ~0.15 s less per map image and a PDF 25 % smaller; every
    # PDF reader takes both (ISO 32000-1 §7.4). Set here because every PDF this service writes registers a font.
    rl_config.useA85 = 0
    name = f"{FONT}-{abs(hash(str(path))) % 10**8}"
    kw = {"subfontIndex": 0} if path.suffix.lower() == ".ttc" else {}
    pdfmetrics.registerFont(TTFont(name, str(path), **kw))
    return name


def _styles(font: str):
    from reportlab.lib.styles import ParagraphStyle

    base = ParagraphStyle("base", fontName=font, fontSize=9, leading=12, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=base, fontSize=16, leading=21, spaceAfter=4),
        "sub": ParagraphStyle("sub", parent=base, fontSize=9, textColor="#555555", spaceAfter=6),
        "h": ParagraphStyle("h", parent=base, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4),
        "p": base,
        "cell": ParagraphStyle("cell", parent=base, fontSize=CELL_FONT_PT, leading=9.5),
        "credit": ParagraphStyle("credit", parent=base, fontSize=6.5, leading=8, textColor="#555555"),
        "head": ParagraphStyle("head", parent=base, fontSize=7.5, leading=9.5, textColor="#333333"),
        "verdict": ParagraphStyle("verdict", parent=base, fontSize=13, leading=18, textColor="#ffffff"),
    }


SUPERSCRIPTS = str.maketrans("⁻⁰¹²³⁴⁵⁶⁷⁸⁹", "-0123456789")
SUPERSCRIPT_RUN = re.compile("[⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+")


def plain_superscripts(text: str) -> str:
    """``3×10⁻⁷`` → ``3×10^-7``: the embedded CJK font has no superscript digits (they would print as blanks)."""
    return SUPERSCRIPT_RUN.sub(lambda m: "^" + m.group(0).translate(SUPERSCRIPTS), text)


def _esc(value: Any) -> str:
    from xml.sax.saxutils import escape

    return escape(plain_superscripts("—" if value is None else str(value)))


def fit_cell(value: Any, width_pt: float) -> str:
    """Cell text cut so that its row stays shorter than a page: about ``CELL_MAX_LINES`` lines of
    full-width (CJK) characters at the cell's width. The cut says so; the API's JSON keeps it all."""
    text = "—" if value is None else str(value)
    limit = max(40, int(width_pt / CELL_FONT_PT * CELL_MAX_LINES))
    return text if len(text) <= limit else text[: limit - len(CUT_NOTE)] + CUT_NOTE


def render(report: Report, font: Path | None = None) -> bytes:
    """The report as PDF bytes, with ``font`` (default: the first installed CJK TrueType font) embedded."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as RLTable

    font_name = _register_font(font or cjk_font())
    st = _styles(font_name)
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=A4, leftMargin=14 * mm, rightMargin=14 * mm, topMargin=14 * mm,
                            bottomMargin=14 * mm, title=report.title, author="risk map service 风险地图服务")
    width = A4[0] - 28 * mm
    now = datetime.now(UTC)
    stamp = beijing(now)
    number = doc_number(report.kind, report.title, now)
    flow: list = [Paragraph(_esc(report.title), st["title"]),
                  Paragraph(_esc(f"{report.subtitle}  ·  生成 generated {stamp}  ·  文档编号 document {number}"
                                 .strip(" ·")), st["sub"])]
    if report.verdict:
        cell = RLTable([[Paragraph(_esc(report.verdict), st["verdict"])]], colWidths=[width])
        cell.setStyle(TableStyle([("BACKGROUND", (0, 0), (-1, -1),
                                   colors.HexColor(VERDICT_COLORS.get(report.verdict_class or "", "#737373"))),
                                  ("LEFTPADDING", (0, 0), (-1, -1), 6)]))
        flow += [cell, Spacer(1, 4)]
    for sec in report.sections:
        flow.append(Paragraph(_esc(sec.heading), st["h"]))
        for text in sec.paragraphs:
            flow.append(Paragraph(_esc(text), st["p"]))
        for text in sec.bullets:
            flow.append(Paragraph("• " + _esc(text), st["p"]))
        if sec.image_png:
            img = Image(io.BytesIO(sec.image_png))
            scale = width / img.imageWidth
            img.drawWidth, img.drawHeight = width, img.imageHeight * scale
            flow.append(img)
            if report.map_credit:
                flow.append(Paragraph(_esc(report.map_credit), st["credit"]))
        if sec.table is not None:
            t = sec.table
            fr = t.widths or [1 / len(t.columns)] * len(t.columns)
            data = [[Paragraph(_esc(c), st["head"]) for c in t.columns]]
            col_widths = [width * f for f in fr]
            data += [[Paragraph(_esc(fit_cell(v, w)), st["cell"]) for v, w in zip(row, col_widths, strict=False)]
                     for row in t.rows]
            table = RLTable(data, colWidths=col_widths, repeatRows=1)
            style = [("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                     ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                     ("VALIGN", (0, 0), (-1, -1), "TOP"),
                     ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3)]
            for i, cls in enumerate(t.row_classes or []):
                if cls in ROW_COLORS:
                    style.append(("BACKGROUND", (0, i + 1), (-1, i + 1), colors.HexColor(ROW_COLORS[cls])))
            table.setStyle(TableStyle(style))
            flow.append(table)
        flow.append(Spacer(1, 4))
    doc.build(flow, canvasmaker=_numbered_canvas(font_name, f"{number} · {stamp}"))
    return buf.getvalue()
