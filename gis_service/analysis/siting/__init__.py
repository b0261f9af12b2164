"""Siting checks: a proposed chemical park or hazardous installation (or an existing park) against the
rule sets (``rules/*.yaml``).

- :mod:`.rules` — rule files → typed rule sets (test kinds, thresholds, sources);
- :mod:`.inputs` — a GeoJSON proposal → :class:`~.results.Proposal` (or a 400 naming the problem);
- :mod:`.context` — what the runners work with (store, proposal, parameters, road graph, standards, caches);
- :mod:`.runners` — one function per spatial test kind; :mod:`.risk` — the quantitative-risk test kind;
- :mod:`.engine` — :func:`~.engine.check` / :func:`~.engine.check_park`: every rule → the verdict;
- :mod:`.results` — the report; :mod:`.evidence` — its GeoJSON evidence helpers.
"""
