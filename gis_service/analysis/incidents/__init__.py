"""Incidents (事故/事件): a point, a type, a time and a reporter, with an append-only timeline of timestamped
events — analyses attached, units dispatched and moved through their states, notes, closing. The timeline is
the record; every derived view (unit states, what is committed) is computed from it (:mod:`.timeline`).
Persisted next to the layers on both engines (:mod:`.store`)."""
