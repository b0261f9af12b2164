"""Quantitative risk assessment (QRA): individual-risk contours and societal risk (F-N) per GB 36894-2018.

- :mod:`.data` — the tables (LOC frequencies, ignition, event tree, release properties, criteria) and
  :class:`~.data.QraParams`;
- :mod:`.loss_of_containment` — loss-of-containment releases of a hazard source → outcome cases with frequencies;
- :mod:`.outcomes` — the outcome kinds and which have a field model;
- :mod:`.fields` — lethality fields of each outcome (consequence model + probit);
- :mod:`.grid` — polar fields, wind rose, Cartesian grid, contours;
- :mod:`.societal` — F-N curve and its assessment;
- :mod:`.engine` — installations → IR grid, contours and the F-N curve (pure);
- :mod:`.assessment` — installation / park from the store → GeoJSON and F-N results;
- :mod:`.reference` — the plain-loop IR at one point (independent check and benchmark baseline).
"""
