"""The F-N curve as a PNG for the PDF reports (matplotlib, the CJK font embedded): the cumulative frequency F of
events with N or more deaths as a step curve on log-log axes, with the criterion lines F = c / N^k and the region
they put the curve in. The web pages draw the same document with ``RiskMap.fnChart``."""

from __future__ import annotations

import io
from pathlib import Path

from ..analysis.qra.results import FnCurve, FnSummary
from .fonts import cjk_font

N_RANGE = (1.0, 1e4)
F_RANGE = (1e-9, 1e-1)
LINES = (("upper", "#d7301f", "不可接受线 upper"), ("lower", "#1a9850", "可接受线 lower"))


def fn_png(fn: FnCurve | FnSummary, width_in: float = 5.2, height_in: float = 3.6, dpi: int = 130,
           font_path: Path | None = None) -> bytes:
    """PNG bytes of the F-N chart of ``fn`` (a ``GET /analysis/risk/societal`` answer or a siting rule's curve)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=str(font_path or cjk_font()))
    fig = Figure(figsize=(width_in, height_in), dpi=dpi)
    ax = fig.add_axes((0.14, 0.14, 0.82, 0.76))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(*N_RANGE)
    ax.set_ylim(*F_RANGE)
    ax.grid(True, which="major", color="#dddddd", linewidth=0.6)
    assessment = fn.assessment
    ns = [1.0, 10.0, 100.0, 1000.0, 1e4]
    for key, colour, label in LINES:
        ln = assessment.lines.upper if key == "upper" else assessment.lines.lower
        ax.plot(ns, [ln.c_per_year / n ** ln.k for n in ns], linestyle="--", color=colour, linewidth=1.2,
                label=f"{label}: F = {ln.c_per_year:g}/N^{ln.k:g}")
    curve = fn.fn_curve
    if curve:
        xs, ys, prev = [], [], 1.0
        for pt in curve:  # F(N) is constant between events: horizontal then vertical steps
            xs += [prev, pt.n]
            ys += [pt.f_per_year, pt.f_per_year]
            prev = pt.n
        xs.append(prev)
        ys.append(F_RANGE[0])
        ax.plot(xs, ys, color="#08306b", linewidth=2, label="F-N 曲线 curve")
    else:
        ax.text(10, 1e-5, "无 N ≥ 1 的事件 no event with N ≥ 1", fontproperties=font, ha="center")
    ax.set_xlabel("死亡人数 N", fontproperties=font)
    ax.set_ylabel("累计频率 F (/年)", fontproperties=font)
    ax.set_title(f"F-N 社会风险曲线 {assessment.region_zh}", fontproperties=font, fontsize=10)
    small = font.copy()
    small.set_size(7)
    ax.legend(prop=small, loc="upper right")
    ax.tick_params(labelsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
