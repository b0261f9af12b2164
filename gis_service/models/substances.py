"""Substance properties for the consequence models.

Source table: ``gis_service/data/substances.csv`` (one row per substance, keyed by an English key).
Each row names its own source and confidence tag ([V] primary source read, [S] reliable secondary,
[M] remembered and not yet confirmed). Toxic levels of concern are the 60-minute values:

- AEGL-1/2/3: US EPA / National Research Council Acute Exposure Guideline Levels (final values).
- ERPG-1/2/3: AIHA Emergency Response Planning Guidelines.
- IDLH: NIOSH Immediately Dangerous to Life or Health concentrations.

Confirmed during development (search): chlorine ERPG-1/2 and IDLH (Chlorine Institute, NIOSH IDLH
documentation); hydrogen sulfide AEGL 0.51/27/50, ERPG 0.1/30/100, IDLH 100 ppm (compiled in
Nitric Oxide 2017;71:1-13, Table 3). Ammonia and chlorine AEGLs. Everything else
is tagged [M] in the table's source column.

Validity and limitations: mixtures (LPG, natural gas, gasoline, crude oil, diesel) carry
representative molar masses and heats of combustion; ``heat_of_combustion_mj_kg`` is the lower
heating value; ``dense_gas`` flags substances whose accidental releases typically form clouds
denser than air (heavy molar mass and/or cold aerosol from pressurised liquefied storage), for which
a Gaussian plume is not valid in the near field.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ._common import ModelResult, as_bool, load_table, opt_float

TABLE = "substances.csv"
SOURCES = [
    "US EPA / NRC Acute Exposure Guideline Levels (AEGLs), final values, 60 min",
    "AIHA Emergency Response Planning Guidelines (ERPGs)",
    "NIOSH Immediately Dangerous to Life or Health (IDLH) values",
    "gis_service/data/substances.csv (per-row source and confidence tags)",
]


STORAGE_TYPES = ("pressurised", "refrigerated", "compressed", "atmospheric")


class UnknownSubstance(ValueError):
    """Raised by :func:`lookup` for a name that matches no substance; lists the accepted names."""

    def __init__(self, name: str, known: list[str]):
        self.name = name
        self.known = list(known)
        super().__init__(
            f"unknown substance {name!r}; accepted: a key ({', '.join(self.known)}), "
            "or the Chinese name, English name, an alias or the CAS number of one of them"
        )


@dataclass(frozen=True)
class Substance(ModelResult):
    key: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...]
    cas: str
    molar_mass_g_mol: float | None
    heat_of_combustion_mj_kg: float | None
    phase: str
    flammable: bool
    toxic: bool
    dense_gas: bool
    aegl1_ppm: float | None
    aegl2_ppm: float | None
    aegl3_ppm: float | None
    erpg1_ppm: float | None
    erpg2_ppm: float | None
    erpg3_ppm: float | None
    idlh_ppm: float | None
    boiling_point_k: float | None
    liquid_cp_kj_kg_k: float | None
    latent_heat_kj_kg: float | None
    default_storage: str
    source: str



def _norm(name: str) -> str:
    """Case-, width- and space-insensitive form used for matching names."""
    s = unicodedata.normalize("NFKC", str(name)).strip().lower()
    return " ".join(s.replace("_", " ").split())


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Substance], dict[str, str]]:
    by_key: dict[str, Substance] = {}
    index: dict[str, str] = {}
    for row in load_table(TABLE):
        phase = row["phase"]
        if phase not in ("gas", "liquid", "solid"):
            raise ValueError(f"{TABLE}: {row['key']}: phase must be gas/liquid/solid, got {phase!r}")
        s = Substance(
            key=row["key"],
            name_zh=row["name_zh"],
            name_en=row["name_en"],
            aliases=tuple(a.strip() for a in row["aliases"].split(";") if a.strip()),
            cas=row["cas"],
            molar_mass_g_mol=opt_float(row["molar_mass_g_mol"]),
            heat_of_combustion_mj_kg=opt_float(row["heat_of_combustion_mj_kg"]),
            phase=phase,
            flammable=as_bool(row["flammable"]),
            toxic=as_bool(row["toxic"]),
            dense_gas=as_bool(row["dense_gas"]),
            aegl1_ppm=opt_float(row["aegl1_ppm"]),
            aegl2_ppm=opt_float(row["aegl2_ppm"]),
            aegl3_ppm=opt_float(row["aegl3_ppm"]),
            erpg1_ppm=opt_float(row["erpg1_ppm"]),
            erpg2_ppm=opt_float(row["erpg2_ppm"]),
            erpg3_ppm=opt_float(row["erpg3_ppm"]),
            idlh_ppm=opt_float(row["idlh_ppm"]),
            boiling_point_k=opt_float(row["boiling_point_k"]),
            liquid_cp_kj_kg_k=opt_float(row["liquid_cp_kj_kg_k"]),
            latent_heat_kj_kg=opt_float(row["latent_heat_kj_kg"]),
            default_storage=row["default_storage"],
            source=row["source"],
        )
        if s.default_storage not in STORAGE_TYPES:
            raise ValueError(f"{TABLE}: {s.key}: default_storage must be one of {STORAGE_TYPES}")
        if s.key in by_key:
            raise ValueError(f"{TABLE}: duplicate key {s.key!r}")
        by_key[s.key] = s
        for name in (s.key, s.name_zh, s.name_en, s.cas, *s.aliases):
            if name:
                other = index.setdefault(_norm(name), s.key)
                if other != s.key:
                    raise ValueError(f"{TABLE}: name {name!r} is ambiguous ({other}, {s.key})")
    return by_key, index


def all_substances() -> list[Substance]:
    """Every substance in the table, in table order."""
    return list(_load()[0].values())


def keys() -> list[str]:
    return list(_load()[0])


def lookup(name: str | None) -> Substance:
    """Find a substance by key, Chinese name, English name, alias or CAS number.

    Matching ignores case, surrounding space and full-/half-width differences.
    Raises :class:`UnknownSubstance` (a ValueError) listing the accepted keys.
    """
    by_key, index = _load()
    if name is not None:
        key = index.get(_norm(name))
        if key is not None:
            return by_key[key]
    raise UnknownSubstance(str(name), list(by_key))


def find(name: str | None = None, cas: str | None = None) -> Substance | None:
    """Like :func:`lookup` but tries the name, then the CAS number, and returns None when neither matches."""
    for candidate in (name, cas):
        if candidate:
            try:
                return lookup(candidate)
            except UnknownSubstance:
                pass
    return None
