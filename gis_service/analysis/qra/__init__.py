"""Quantitative risk assessment (QRA): individual-risk contours and societal risk (F-N) per GB 36894-2018.

- :mod:`.data` — the tables (LOC frequencies, ignition, event tree, release properties, criteria) and
  :class:`~.data.QraParams`;
- :mod:`.scenarios` — loss-of-containment scenarios of a hazard source → outcome cases with frequencies;
- :mod:`.fields` — lethality fields of each outcome (consequence model + probit);
- :mod:`.grid` — polar fields, wind rose, Cartesian grid, contours;
- :mod:`.societal` — F-N curve and its assessment;
- :mod:`.service` — installation / park from the store → GeoJSON and F-N results.
"""
