"""The CJK TrueType font embedded in reports and used in their map images.

Looked up among Debian font packages (``fonts-wqy-zenhei``, ``fonts-wqy-microhei``,
``fonts-arphic-uming``) or given by ``GIS_REPORT_FONT`` (a .ttf/.ttc with TrueType outlines; CFF/OTF
fonts such as Noto CJK cannot be embedded by reportlab). Nothing is downloaded.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class FontMissing(RuntimeError):
    pass


@lru_cache(maxsize=1)
def cjk_font() -> Path:
    wanted = os.environ.get("GIS_REPORT_FONT")
    for cand in ([wanted] if wanted else []) + list(CANDIDATES):
        if cand and Path(cand).is_file():
            return Path(cand)
    raise FontMissing("no CJK TrueType font for PDF reports: apt-get install fonts-wqy-zenhei "
                      "(or set GIS_REPORT_FONT to a .ttf/.ttc file)")
