"""Evaporation rate of a liquid pool at ambient temperature — the source of a volatile liquid's vapour cloud.

US EPA (1999) *Risk Management Program Guidance for Offsite Consequence Analysis*, Appendix D, eq. D-1 (after
Mackay & Matsugu 1973) [S]:

    QR = 0.284 · U^0.78 · MW^(2/3) · A · VP / (82.05 · T)

QR in lb/min, U the wind speed (m/s), MW the molar mass (g/mol), A the pool area (ft²), VP the vapour pressure (mmHg)
at the liquid temperature T (K). This module takes SI inputs and converts (1 lb/min = 0.00755987 kg/s,
1 m² = 10.7639 ft², 1 kPa = 7.50062 mmHg).

Limits: a non-boiling liquid at ambient temperature (no heat-transfer limit, no boiling pool), a single
representative vapour pressure for mixtures (gasoline, crude oil: [M]), steady evaporation.
"""

from __future__ import annotations

from ._common import require_positive

LB_MIN_TO_KG_S = 0.45359237 / 60.0
FT2_PER_M2 = 10.763910417
MMHG_PER_KPA = 7.500615613
SOURCE = ("US EPA (1999) RMP Offsite Consequence Analysis Guidance, Appendix D eq. D-1 (Mackay & Matsugu 1973): "
          "QR = 0.284·U^0.78·MW^(2/3)·A·VP/(82.05·T) [S]")


def evaporation_rate_kg_s(area_m2: float, vapour_pressure_kpa: float, molar_mass_g_mol: float, wind_speed_m_s: float,
                          temperature_k: float = 298.15) -> float:
    """Evaporation rate (kg/s) of a pool of ``area_m2`` (EPA OCA eq. D-1 in SI units)."""
    a_ft2 = require_positive("area_m2", area_m2) * FT2_PER_M2
    vp = require_positive("vapour_pressure_kpa", vapour_pressure_kpa) * MMHG_PER_KPA
    mw = require_positive("molar_mass_g_mol", molar_mass_g_mol)
    u = require_positive("wind_speed_m_s", wind_speed_m_s)
    t = require_positive("temperature_k", temperature_k)
    qr_lb_min = 0.284 * u**0.78 * mw ** (2.0 / 3.0) * a_ft2 * vp / (82.05 * t)
    return qr_lb_min * LB_MIN_TO_KG_S


__all__ = ["SOURCE", "evaporation_rate_kg_s"]
