"""Probit vulnerability: a consequence field → probability of death at each point (pure, vectorised).

P(death) = Φ(Pr − 5), Φ the standard normal CDF (Finney 1971, *Probit Analysis*; ``scipy.special.ndtr``).

- Toxic: Pr = a + b·ln(∫Cⁿ dt), C in the table's unit (mg/m³ or ppm), t in minutes. Constants per substance
  from ``data/qra_probits.csv`` (CPR 18E "Purple Book" 1999 Table 5.2 / TNO Green Book CPR 16E [S]; chlorine
  also Withers & Lees 1985 [V]).
- Thermal (``thermal_model``): ``eisenberg`` (default) — Eisenberg, Lynch & Breeding (1975):
  Pr = −14.9 + 2.56·ln(t·q^(4/3)/10⁴) [S]; ``purple_book`` — Tsao & Perry (1979) as in CPR 18E §5.2.3:
  Pr = −36.38 + 2.56·ln(t·q^(4/3)) [S], 2.10 probit units higher. q W/m², t s.
- Overpressure: ``purple_book`` — lethality 1 where the peak overpressure is ≥ 30 kPa (0.3 bar), else 0, for
  people outdoors (CPR 18E §5 [M]); ``eisenberg`` — lung-haemorrhage probit Pr = −77.1 + 6.91·ln(Ps), Ps Pa [S].
- Flash fire: lethality 1 inside the cloud's lower-flammability-limit contour, 0 outside (CPR 18E §5 [M]).

Validity: the probits were fitted on animal data and historical accidents; they describe an average adult
outdoors without protection (the GB 36894 definition of individual risk: a person permanently present, unprotected).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.special import ndtr

from ._common import as_bool, load_table

MOLAR_VOLUME_L_MOL = 24.45  # 25 °C, 1 atm (ppm ↔ mg/m³)
PURPLE_BOOK_LETHAL_OVERPRESSURE_KPA = 30.0
OVERPRESSURE_MODELS = ("purple_book", "eisenberg")
SOURCES = (
    "Finney D.J. (1971) Probit Analysis, 3rd ed.: P = Φ(Pr − 5)",
    "Eisenberg N.A., Lynch C.J., Breeding R.J. (1975) Vulnerability model, USCG CG-D-136-75 — thermal and "
    "lung-haemorrhage probits (via CCPS CPQRA 2000 §2.3)",
    "Committee for the Prevention of Disasters (1999) Guidelines for quantitative risk assessment 'Purple Book' "
    "CPR 18E — toxic probit constants (after TNO Green Book CPR 16E), 0.3 bar and flash-fire lethality rules",
    "Withers R.M.J., Lees F.P. (1985) J. Hazard. Mater. 12:283–302 — chlorine probit",
    "Tsao C.K., Perry W.W. (1979) Modifications to the vulnerability model, USCG CG-D-38-79 — thermal probit "
    "of CPR 18E §5.2.3 (thermal_model=purple_book)",
)


class NoProbit(LookupError):
    """No toxic probit constants for a substance."""


@dataclass(frozen=True)
class ToxicProbit:
    substance: str
    set: str
    a: float
    b: float
    n: float
    conc_unit: str  # mg/m3 or ppm
    source: str
    confidence: str


@dataclass(frozen=True)
class EffectProbit:
    """A thermal or overpressure probit: Pr = a + b·ln(dose), dose = t·xⁿ / dose_divisor."""
    effect: str
    set: str
    a: float
    b: float
    n: float
    dose_divisor: float


Table = tuple[dict[tuple[str, str], ToxicProbit], dict[str, str], dict[tuple[str, str], EffectProbit], dict[str, str]]


@lru_cache(maxsize=1)
def _table() -> Table:
    toxic: dict[tuple[str, str], ToxicProbit] = {}
    default: dict[str, str] = {}
    other: dict[tuple[str, str], EffectProbit] = {}
    other_default: dict[str, str] = {}
    for r in load_table("qra_probits.csv"):
        a, b, n = float(r["a"]), float(r["b"]), float(r["n"])
        if r["effect"] == "toxic":
            p = ToxicProbit(r["substance"], r["set"], a, b, n, r["conc_unit"], r["source"], r["confidence"])
            toxic[(p.substance, p.set)] = p
            if as_bool(r["default"]):
                default[p.substance] = p.set
        else:
            other[(r["effect"], r["set"])] = EffectProbit(r["effect"], r["set"], a, b, n, float(r["dose_divisor"]))
            if as_bool(r["default"]) or r["effect"] not in other_default:
                other_default[r["effect"]] = r["set"]
    return toxic, default, other, other_default


def effect_probit(effect: str, model: str | None = None) -> EffectProbit:
    _, _, other, other_default = _table()
    return other[(effect, model or other_default[effect])]


def thermal_models() -> tuple[str, ...]:
    return tuple(sorted(s for e, s in _table()[2] if e == "thermal"))


def toxic_probit(substance_key: str, probit_set: str | None = None) -> ToxicProbit:
    """The toxic probit of a substance (its default set unless ``probit_set`` is named); raises :class:`NoProbit`."""
    toxic, default, _, _ = _table()
    s = probit_set or default.get(substance_key)
    p = toxic.get((substance_key, s)) if s else None
    if p is None:
        known = sorted({k for k, _ in toxic})
        raise NoProbit(f"no toxic probit constants for {substance_key!r}"
                       + (f" in set {probit_set!r}" if probit_set else "")
                       + f"; substances with constants: {', '.join(known)}")
    return p


def toxic_probit_preferring(substance_key: str, probit_set: str | None) -> ToxicProbit:
    """The substance's probit in ``probit_set`` when the table has one, else its default."""
    if probit_set and (substance_key, probit_set) in _table()[0]:
        return _table()[0][(substance_key, probit_set)]
    return toxic_probit(substance_key)


def probit_sets() -> list[str]:
    return sorted({s for _k, s in _table()[0]})


def toxic_substances() -> list[str]:
    return sorted({k for k, _ in _table()[0]})


def probability(pr) -> np.ndarray:
    """P(death) = Φ(Pr − 5) (``scipy.special.ndtr``, the standard normal CDF of ``scipy.stats.norm``)."""
    return ndtr(np.asarray(pr, dtype=float) - 5.0)


def toxic_probability(load, p: ToxicProbit) -> np.ndarray:
    """P(death) from the toxic load ∫Cⁿ dt in (p.conc_unit)ⁿ·min; zero load → 0."""
    load = np.asarray(load, dtype=float)
    with np.errstate(divide="ignore"):
        pr = p.a + p.b * np.log(load)
    return np.where(load > 0, probability(pr), 0.0)


def concentration_in_unit(c_mg_m3, p: ToxicProbit, molar_mass_g_mol: float | None) -> np.ndarray:
    """mg/m³ → the probit's unit (ppm at 25 °C when the constants are in ppm)."""
    c = np.asarray(c_mg_m3, dtype=float)
    if p.conc_unit == "ppm":
        if not molar_mass_g_mol:
            raise ValueError(f"probit for {p.substance} is in ppm but the molar mass is unknown")
        return c * MOLAR_VOLUME_L_MOL / molar_mass_g_mol
    return c


def thermal_probability(q_w_m2, t_s: float, model: str | None = None) -> np.ndarray:
    """P(death) for a heat flux q (W/m²) received for t seconds; ``model`` eisenberg (default) | purple_book."""
    pb = effect_probit("thermal", model)
    q = np.asarray(q_w_m2, dtype=float)
    dose = t_s * np.power(np.maximum(q, 0.0), pb.n) / pb.dose_divisor
    with np.errstate(divide="ignore"):
        pr = pb.a + pb.b * np.log(dose)
    return np.where(q > 0, probability(pr), 0.0)


def overpressure_probability(p_kpa, model: str = "purple_book") -> np.ndarray:
    """P(death) of a person outdoors from the peak side-on overpressure (kPa)."""
    p = np.asarray(p_kpa, dtype=float)
    if model == "purple_book":
        return (p >= PURPLE_BOOK_LETHAL_OVERPRESSURE_KPA).astype(float)
    if model == "eisenberg":
        op = effect_probit("overpressure", "eisenberg")
        a, b = op.a, op.b
        with np.errstate(divide="ignore"):
            pr = a + b * np.log(p * 1000.0)
        return np.where(p > 0, probability(pr), 0.0)
    raise ValueError(f"overpressure model must be one of {', '.join(OVERPRESSURE_MODELS)} (got {model!r})")


def lc50(p: ToxicProbit, minutes: float) -> float:
    """Concentration (in p.conc_unit) lethal to half the exposed people for a constant exposure of ``minutes``."""
    return float(np.exp(((5.0 - p.a) / p.b - np.log(minutes)) / p.n))
