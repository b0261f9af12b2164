"""Live monitoring and early warning: sensor kinds, reading ingest (MQTT and HTTP), alarm rules with
hysteresis, reading stores (PostgreSQL partitioned table / SQLite side file), decision packages.

Modules, each with one job:

- :mod:`.kinds` — sensor kinds and default set points (``data/sensor_kinds.csv``) → per-sensor rules;
- :mod:`.readings` — payload parsing and vectorised validation (bad readings counted by reason);
- :mod:`.rules` — the alarm state machine (threshold, rate of change, stale) with deadband;
- :mod:`.pgstore` / :mod:`.sqlitestore` — readings, sensor state, alarms and events;
- :mod:`.ingest` — batch pipeline: validate → evaluate → store in one transaction;
- :mod:`.mqtt` — the ``gis-service ingest`` worker (QoS 1, manual acks after commit);
- :mod:`.decision` — the decision package of an alarm, from the exposure and rescue analyses;
- :mod:`.sample` — sample sensors for the Jilin demonstration dataset.
"""
