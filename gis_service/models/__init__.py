"""Pure science models (no I/O, no store, no web framework).

- ``substances``: substance table and ``lookup``
- ``grading``: GB 18218-2018 major hazard identification and grading
- ``explosion``: TNT-equivalence VCE and Kingery–Bulmash overpressure
- ``fire``: point-source thermal radiation
- ``plume``: Gaussian plume and ALOHA-style threat zones (local metres)
- ``tailings``: tailings dam grade and breach runout corridor (local metres)
- ``goaf``: probability-integral subsidence influence zone

Every result is a frozen dataclass with ``to_dict()`` (JSON-safe; sources and limitations included).
"""
