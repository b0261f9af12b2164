"""The CJK TrueType font embedded in reports and used in their map images.

Looked up among Debian font packages (``fonts-wqy-zenhei``, ``fonts-wqy-microhei``,
``fonts-arphic-uming``) or given by ``GIS_REPORT_FONT`` (``Settings.report_font``, passed in by the reports facade) (a .ttf/.ttc with TrueType outlines; CFF/OTF
fonts such as Noto CJK cannot be embedded by reportlab). Nothing is downloaded.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=8)  # one file-system look-up per configured font, not per report
def cjk_font(wanted: Path | str | None = None) -> Path:
    """``wanted`` if it is a file, else the first installed Debian CJK TrueType font."""
    for cand in ([str(wanted)] if wanted else []) + list(CANDIDATES):
        if cand and Path(cand).is_file():
            return Path(cand)
    raise FontMissing("no CJK TrueType font for PDF reports: apt-get install fonts-wqy-zenhei "
                      "(or set GIS_REPORT_FONT to a .ttf/.ttc file)")
