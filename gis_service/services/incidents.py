"""The incidents facade: create an incident, attach analyses run through the other facades (exposure, rescue,
resources, evacuation), dispatch teams and depot equipment and move them through their states, close — every
step one event of the append-only timeline in the incident store next to the layers (both engines).

What is committed (teams out, depot items out) is derived from the timeline and handed to the resources
facade, so an assembly never plans with a unit that is already out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from ..analysis.consequence.params import scenario_params
from ..analysis.incidents import timeline
from ..analysis.incidents.store import IncidentStore
from ..analysis.incidents.timeline import TransitionRefused
from ..analysis.rescue.inputs import check_location
from ..analysis.resources.inputs import DEPOTS, TEAMS
from ..models.equipment import check_equipment
from ..stores.base import FeatureNotFound, Store
from ..validation import Problem, ValidationFailed
from .exposure import ExposureService
from .rescue import RescueService
from .resources import ResourcesService

RESCUE_INCIDENT = {"chemical": "chemical", "mine": "mine", "goaf": "goaf", "tailings_dam": "tailings_dam",
                   "fire": "fire", "medical": "medical", "flood": "mine", "other": "chemical"}
MAX_UNITS = 50


class UnknownIncident(LookupError):
    pass


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([Problem(None, field, message)])


class IncidentService:
    def __init__(self, store: Store, exposure: ExposureService, rescue: RescueService, resources: ResourcesService):
        self.store, self.exposure, self.rescue, self.resources = store, exposure, rescue, resources
        self._db: IncidentStore | None = None

    @property
    def db(self) -> IncidentStore:
        if self._db is None:
            db = IncidentStore.for_store(self.store)
            db.init()
            self._db = db
        return self._db

    # -- reads -------------------------------------------------------------------------------------------
    def _require(self, incident_id: int, conn: Connection | None = None) -> dict[str, Any]:
        row = self.db.incident(incident_id, conn)
        if row is None:
            raise UnknownIncident(f"no incident {incident_id}")
        return row

    def get(self, incident_id: int) -> dict[str, Any]:
        row = self._require(incident_id)
        events = self.db.timeline(incident_id)
        units = timeline.units(events)
        closed = any(e["kind"] == "closed" for e in events)
        return {**self._doc(row, closed), "units": list(units.values()),
                "timeline": [self._event_doc(e) for e in events]}

    def listing(self, status: str = "active") -> list[dict[str, Any]]:
        closed = self.db.closed_ids()
        units_by: dict[int, list[dict[str, Any]]] = {}
        for u in timeline.units(self.db.unit_events()).values():
            units_by.setdefault(u["incident_id"], []).append(u)
        out = []
        for row in self.db.all():
            is_closed = row["id"] in closed
            if status == "all" or (status == "closed") == is_closed:
                out.append({**self._doc(row, is_closed), "units": units_by.get(row["id"], [])})
        return out

    def events_after(self, seq: int, limit: int = 500) -> list[dict[str, Any]]:
        return [self._event_doc(e) for e in self.db.timeline(None, after=seq, limit=limit)]

    def commitments(self) -> dict[tuple[str, int], dict[str, int] | None]:
        return timeline.commitments(timeline.units(self.db.unit_events()).values())

    @staticmethod
    def _doc(row: Mapping[str, Any], closed: bool) -> dict[str, Any]:
        return {**dict(row), "status": "closed" if closed else "active", "status_zh": "已结束" if closed else "处置中",
                "incident_type_zh": timeline.INCIDENT_TYPE_ZH.get(row["incident_type"], row["incident_type"])}

    @staticmethod
    def _event_doc(e: Mapping[str, Any]) -> dict[str, Any]:
        return {"seq": e["seq"], "incident_id": e["incident_id"], "t": e["t"], "kind": e["kind"],
                "kind_zh": timeline.KIND_ZH.get(e["kind"], e["kind"]), "actor": e["actor"], "data": e["data"]}

    # -- writes ------------------------------------------------------------------------------------------
    def create(self, lon: float, lat: float, incident_type: str, title: str, reporter: str,
               occurred_at: datetime | None, actor: str | None) -> dict[str, Any]:
        if incident_type not in timeline.INCIDENT_TYPES:
            raise _bad("incident_type", f"must be one of {', '.join(timeline.INCIDENT_TYPES)}")
        from shapely.geometry import Point

        check_location(Point(lon, lat), self.rescue.data_extent())
        when = occurred_at.isoformat() if occurred_at is not None else None
        from ..analysis.incidents.store import now_iso

        row = {"title": title, "incident_type": incident_type, "lon": lon, "lat": lat,
               "occurred_at": when or now_iso(), "reporter": reporter}
        return self.get(self.db.create(row, actor))

    def _active(self, conn: Connection, incident_id: int) -> dict[str, Any]:
        row = self._require(incident_id, conn)
        if incident_id in self.db.closed_ids(conn):
            raise TransitionRefused("incident", f"incident {incident_id} is closed")
        return row

    def attach(self, incident_id: int, kind: str, params: Mapping[str, Any], actor: str | None) -> dict[str, Any]:
        """Run an analysis at the incident through its facade and record it (parameters, summary, result)."""
        row = self._require(incident_id)
        result, summary = self._run(kind, row, params)

        def make(conn: Connection) -> list[tuple[str, dict[str, Any]]]:
            self._active(conn, incident_id)
            return [("analysis", {"analysis": kind, "params": dict(params), "summary": summary, "result": result})]

        (seq,) = self.db.append(incident_id, make, actor)
        return {"seq": seq, "analysis": kind, "summary": summary, "result": result}

    def _run(self, kind: str, row: Mapping[str, Any], params: Mapping[str, Any]) -> tuple[dict[str, Any], dict]:
        lon, lat = float(row["lon"]), float(row["lat"])
        if kind == "resources":
            doc = self.resources.assemble(lon, lat, params.get("needs")).to_feature_collection()
            m = doc["metadata"]
            return doc, {"time_until_all_met_min": m["time_until_all_met_min"], "sources": m["sources"],
                         "all_met": m["all_met"], "unmet": [u["type"] for u in m["unmet"]]}
        if kind == "rescue":
            inc = params.get("incident") or RESCUE_INCIDENT.get(row["incident_type"], "chemical")
            k = params.get("k", 5)
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 20:
                raise _bad("params.k", "must be a whole number 1..20")
            doc = self.rescue.nearest(lon, lat, str(inc), k=k, by="time").to_dict()
            return doc, {"teams": len(doc["features"])}
        if kind == "exposure":
            layer, fid = params.get("layer"), params.get("id")
            if not isinstance(layer, str) or isinstance(fid, bool) or not isinstance(fid, int):
                raise _bad("params", 'exposure needs {"layer": "hazard_sources", "id": 5} (a stored source)')
            scen = params.get("scenario") or {}
            if not isinstance(scen, dict):
                raise _bad("params.scenario", "must be an object")
            doc = self.exposure.feature(layer, fid, scenario_params(**scen)).to_feature_collection()
            return doc, {"layer": layer, "id": fid, **{k: doc["metadata"]["exposure"].get(k)
                                                        for k in ("receptor_count", "total_population")}}
        if kind == "evacuation":
            ev = self.resources.evacuate_exposure(params)
            doc = ev.to_feature_collection()
            m = doc["metadata"]
            return doc, {k: m[k] for k in ("people", "placed", "not_placed", "time_until_last_out_min",
                                           "shelters_used")}
        raise _bad("kind", f"must be one of {', '.join(timeline.ANALYSIS_KINDS)}")

    def dispatch(self, incident_id: int, units: Sequence[Mapping[str, Any]], actor: str | None) -> dict[str, Any]:
        """Send teams (whole) and depot items; refused (409) if a team is already out or a depot lacks the
        free stock — checked and written in one locked transaction."""
        if not units or len(units) > MAX_UNITS:
            raise _bad("units", f"give 1..{MAX_UNITS} units")
        table, _ = self.resources.sources()
        wanted = [self._unit(i, u) for i, u in enumerate(units)]

        def make(conn: Connection) -> list[tuple[str, dict[str, Any]]]:
            self._active(conn, incident_id)
            out_now = timeline.commitments(timeline.units(self.db.unit_events(conn)).values())
            adding: dict[tuple[str, int], dict[str, int] | None] = {}
            events = []
            for i, w in enumerate(wanted):
                key = (w["layer"], w["unit_id"])
                k = table.index.get(key)
                if k is None:
                    raise FeatureNotFound(w["layer"], w["unit_id"])
                if w["layer"] == TEAMS:
                    if key in out_now or key in adding:
                        raise TransitionRefused(f"units[{i}]", f"team {w['unit_id']} ({table.names[k]}) is already "
                                                "committed to an incident; release it first")
                    if not table.usable[k]:
                        raise TransitionRefused(f"units[{i}]", f"team {w['unit_id']} ({table.names[k]}) is not on duty")
                    adding[key] = None
                else:
                    self._check_depot(i, k, w["items"], table, out_now.get(key), adding.get(key))
                    prev = adding.get(key) or {}
                    adding[key] = {t: prev.get(t, 0) + q for t, q in {**prev, **w["items"]}.items()}
                events.append(("dispatch", {"layer": w["layer"], "unit_id": w["unit_id"], "name": table.names[k],
                                            "items": w["items"], "eta_min": w.get("eta_min")}))
            return events

        seqs = self.db.append(incident_id, make, actor)
        return {"dispatch_ids": seqs, **self.get(incident_id)}

    @staticmethod
    def _unit(i: int, u: Mapping[str, Any]) -> dict[str, Any]:
        layer, uid = u.get("layer"), u.get("id")
        if layer not in (TEAMS, DEPOTS):
            raise _bad(f"units[{i}].layer", f"must be {TEAMS} or {DEPOTS}")
        if isinstance(uid, bool) or not isinstance(uid, int) or uid < 1:
            raise _bad(f"units[{i}].id", "must be a positive integer id")
        items = u.get("items")
        if layer == DEPOTS:
            try:
                items = check_equipment(items)
            except ValueError as exc:
                raise _bad(f"units[{i}].items", str(exc)) from None
            items = {k: q for k, q in items.items() if q > 0}
            if not items:
                raise _bad(f"units[{i}].items", "a depot dispatch names the items it sends, e.g. {\"drilling_rig\": 1}")
        else:
            items = None if items is None else dict(items)
        eta = u.get("eta_min")
        eta = float(eta) if isinstance(eta, int | float) and not isinstance(eta, bool) and eta == eta else None
        return {"layer": layer, "unit_id": uid, "items": items, "eta_min": eta}

    @staticmethod
    def _check_depot(i: int, k: int, items: Mapping[str, int], table, out: Mapping[str, int] | None,
                     adding: Mapping[str, int] | None) -> None:
        if not table.usable[k]:
            raise TransitionRefused(f"units[{i}]", f"depot {table.ids[k]} ({table.names[k]}) is not available")
        short = []
        for t, q in items.items():
            have = int(table.stock[k, table.types.index(t)])
            free = have - (out or {}).get(t, 0) - (adding or {}).get(t, 0)
            if q > free:
                short.append(f"{t}: asked {q}, free {max(free, 0)} of {have}")
        if short:
            raise TransitionRefused(f"units[{i}].items", f"depot {table.ids[k]} ({table.names[k]}) lacks "
                                    + "; ".join(short))

    def transition(self, incident_id: int, dispatch_id: int, state: str, note: str | None,
                   actor: str | None) -> dict[str, Any]:
        def make(conn: Connection) -> list[tuple[str, dict[str, Any]]]:
            self._active(conn, incident_id)
            units = timeline.units(self.db.timeline(incident_id, conn=conn))
            unit = units.get(dispatch_id)
            if unit is None:
                raise UnknownIncident(f"incident {incident_id} has no dispatch {dispatch_id}")
            timeline.check_step(unit, state)
            return [("unit_state", {"dispatch_id": dispatch_id, "state": state, "note": note,
                                    "layer": unit["layer"], "unit_id": unit["unit_id"], "name": unit["name"]})]

        self.db.append(incident_id, make, actor)
        return self.get(incident_id)

    def note(self, incident_id: int, text: str, actor: str | None) -> dict[str, Any]:
        def make(conn: Connection) -> list[tuple[str, dict[str, Any]]]:
            self._active(conn, incident_id)
            return [("note", {"text": text})]

        self.db.append(incident_id, make, actor)
        return self.get(incident_id)

    def close(self, incident_id: int, note: str | None, actor: str | None) -> dict[str, Any]:
        """Stand down: every unit still out is released (one event each), then the incident is closed."""
        def make(conn: Connection) -> list[tuple[str, dict[str, Any]]]:
            self._active(conn, incident_id)
            units = timeline.units(self.db.timeline(incident_id, conn=conn))
            out: list[tuple[str, dict[str, Any]]] = [
                ("unit_state", {"dispatch_id": u["dispatch_id"], "state": "released", "note": "incident closed",
                                "layer": u["layer"], "unit_id": u["unit_id"], "name": u["name"]})
                for u in units.values() if timeline.is_active(u)]
            return [*out, ("closed", {"note": note})]

        self.db.append(incident_id, make, actor)
        return self.get(incident_id)
