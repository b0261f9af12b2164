"""GB 18218-2018 Table 2 class (W5.1–W5.4) of a flammable liquid from its flash point and initial boiling point.

Flammable-liquid categories of GB 30000.7-2013 (化学品分类和标签规范 第7部分：易燃液体), the GHS Rev. 4 categories
(UN GHS chapter 2.6, Table 2.6.1) [S]:

- category 1: closed-cup flash point < 23 °C and initial boiling point ≤ 35 °C;
- category 2: flash point < 23 °C and initial boiling point > 35 °C;
- category 3: 23 °C ≤ flash point ≤ 60 °C;
- (category 4, 60 °C < flash point ≤ 93 °C, is not a hazardous chemical in China's 危险化学品目录 and not in Table 2).

GB 18218-2018 Table 2 [S]: W5.1 = category 1, or categories 2 and 3 kept above their boiling point (Q 10 t, β 1.5);
W5.2 = categories 2 and 3 under special process conditions (hazardous chemical processes, operation in or near the
explosive range, pressure above 1.6 MPa; Q 50 t) — a process judgement, given by the caller as ``hazard_category``;
W5.3 = other category 2 (Q 1000 t); W5.4 = other category 3 (Q 5000 t).

Limits: the flash point must be the closed-cup value; a liquid with a flash point below 23 °C and no boiling point
is put in category 1 (W5.1), the most severe class it could have, and the basis says so.
"""

from __future__ import annotations

import math

FLASH_POINT_CAT12_MAX_C = 23.0  # flash point < 23 °C: categories 1–2
BOILING_POINT_CAT1_MAX_C = 35.0  # initial boiling point ≤ 35 °C: category 1
FLASH_POINT_CAT3_MAX_C = 60.0  # 23 °C ≤ flash point ≤ 60 °C: category 3


def ghs_category(flash_point_c: float, boiling_point_c: float | None) -> tuple[int | None, str]:
    """(GHS flammable-liquid category 1–3, or None above 60 °C; basis). ValueError for a non-finite input."""
    if not math.isfinite(flash_point_c):
        raise ValueError("flash_point_c must be a finite number (°C)")
    if boiling_point_c is not None and not math.isfinite(boiling_point_c):
        raise ValueError("boiling_point_c must be a finite number (°C)")
    fp = f"flash point {flash_point_c:g} °C"
    if flash_point_c > FLASH_POINT_CAT3_MAX_C:
        return None, f"{fp} > 60 °C: not a category 1–3 flammable liquid (GB 30000.7-2013)"
    if flash_point_c >= FLASH_POINT_CAT12_MAX_C:
        return 3, f"{fp} in 23–60 °C: category 3 (GB 30000.7-2013)"
    if boiling_point_c is None:
        return 1, (f"{fp} < 23 °C and no initial boiling point given: category 1 assumed (the most severe; "
                   "give boiling_point_c to classify it)")
    bp = f"initial boiling point {boiling_point_c:g} °C"
    if boiling_point_c <= BOILING_POINT_CAT1_MAX_C:
        return 1, f"{fp} < 23 °C and {bp} ≤ 35 °C: category 1 (GB 30000.7-2013)"
    return 2, f"{fp} < 23 °C and {bp} > 35 °C: category 2 (GB 30000.7-2013)"


def table2_class(flash_point_c: float, boiling_point_c: float | None = None,
                 operating_temp_c: float | None = None) -> tuple[str | None, str]:
    """(GB 18218-2018 Table 2 class W5.1 / W5.3 / W5.4, or None when not a category 1–3 liquid; basis)."""
    cat, basis = ghs_category(flash_point_c, boiling_point_c)
    if cat is None:
        return None, basis + "; not counted under GB 18218-2018 Table 2"
    if cat == 1:
        return "W5.1", basis + " → Table 2 W5.1"
    hot = (operating_temp_c is not None and boiling_point_c is not None and operating_temp_c > boiling_point_c)
    if hot:
        return "W5.1", basis + f"; kept at {operating_temp_c:g} °C above its boiling point → Table 2 W5.1"
    return ("W5.3", basis + " → Table 2 W5.3") if cat == 2 else ("W5.4", basis + " → Table 2 W5.4")


__all__ = ["ghs_category", "table2_class"]
