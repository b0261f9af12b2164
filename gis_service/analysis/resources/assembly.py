"""Assemble what an incident needs: which depots and teams send what, so that everything is on scene
soonest by road time (then from the fewest sources), with ETAs and routes; and what cannot be met, with the
nearest place it exists.

* Sources are the supply depots (their ``equipment``) and the rescue teams (their ``equipment`` and their
  personnel as ``personnel_<team_type>``). A depot with ``available = false`` and a team not on duty are not
  sent; nor is what is already committed to an incident (``committed``: a team is committed whole, a depot
  by the quantities dispatched from it).
* Road time: one Dijkstra on the reversed road graph from the incident to every source
  (:func:`gis_service.routing.many_to_one`), ETA including the off-network access legs at 20 km/h; routes of
  the chosen sources by :func:`gis_service.routing.nearest_by_time`. A source's departure time (mobilisation)
  is not modelled: ETA is driving time from the moment it leaves [A].
* The choice is :func:`.solver.optimal` (bottleneck time, then fewest sources by ``scipy.optimize.milp``);
  the nearest-first :func:`.solver.greedy` plan is reported beside it for comparison.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Point, mapping

from ...geodesy import distance_and_bearing
from ...models.equipment import PERSONNEL_PREFIX, equipment_types, resource_types, unit_zh
from ...routing import RoadGraph, Snap, many_to_one, nearest_by_time
from ...stores.base import Store
from ..rescue.inputs import ROUTING_NOTE, TEAM_TYPE_ZH
from . import solver
from .inputs import DEPOTS, TEAMS

SOURCE_ZH = {DEPOTS: "物资储备库", TEAMS: "救援队伍"}
ASSUMPTIONS = [
    "[A] a source sends everything in one convoy that leaves at once; mobilisation and loading time are not modelled",
    "[A] a depot's stock and a team's kit are as recorded in the layers; committed units come from open incidents",
    ROUTING_NOTE,
]

Unit = tuple[str, int]                    # (layer, id)


@dataclass
class SourceTable:
    """Every depot and team as arrays: stock per resource type (columns = ``types``)."""

    layer: list[str]
    ids: np.ndarray
    names: list[str]
    detail: list[str]                   # depot level / team type
    lon: np.ndarray
    lat: np.ndarray
    usable: np.ndarray                  # available depot / on-duty team
    types: list[str]
    stock: np.ndarray                   # (n, len(types)) int64
    index: dict[Unit, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)


def source_table(store: Store) -> SourceTable:
    """Read the depots and teams of the store into one :class:`SourceTable`."""
    types = list(resource_types())
    col = {t: i for i, t in enumerate(types)}
    depots = store.frame(DEPOTS, ["name", "level", "equipment", "available"])
    teams = store.frame(TEAMS, ["name", "team_type", "personnel", "equipment", "on_duty"])
    n = len(depots) + len(teams)
    stock = np.zeros((n, len(types)), dtype=np.int64)
    layer, names, detail, usable = [], [], [], np.zeros(n, dtype=bool)
    ids = np.zeros(n, dtype=np.int64)
    lon, lat = np.zeros(n), np.zeros(n)
    i = 0
    for frame, lyr in ((depots, DEPOTS), (teams, TEAMS)):
        if not len(frame):
            continue
        xs, ys = shapely.get_x(frame.geometry.to_numpy()), shapely.get_y(frame.geometry.to_numpy())
        for j, (fid, row) in enumerate(frame.iterrows()):
            ids[i], lon[i], lat[i] = int(fid), xs[j], ys[j]
            layer.append(lyr)
            names.append(str(row["name"]))
            for k, q in (row.get("equipment") or {}).items():
                if k in col:
                    stock[i, col[k]] = int(q)
            if lyr == DEPOTS:
                detail.append(str(row["level"]))
                usable[i] = row["available"] is not False and row["available"] is not np.False_
            else:
                detail.append(str(row["team_type"]))
                usable[i] = bool(row["on_duty"])
                pk = PERSONNEL_PREFIX + str(row["team_type"])
                if pk in col and row["personnel"] is not None and row["personnel"] == row["personnel"]:
                    stock[i, col[pk]] = int(row["personnel"])
            i += 1
    table = SourceTable(layer, ids, names, detail, lon, lat, usable, types, stock)
    table.index = {(lyr, int(fid)): k for k, (lyr, fid) in enumerate(zip(layer, ids, strict=True))}
    return table


def free_stock(table: SourceTable, committed: Mapping[Unit, Mapping[str, int] | None]) -> np.ndarray:
    """Stock that may still be sent: unusable sources and committed units removed."""
    stock = np.where(table.usable[:, None], table.stock, 0)
    col = {t: i for i, t in enumerate(table.types)}
    for unit, items in committed.items():
        k = table.index.get(unit)
        if k is None:
            continue
        if items is None:
            stock[k] = 0
        else:
            for t, q in items.items():
                if t in col:
                    stock[k, col[t]] = max(stock[k, col[t]] - int(q), 0)
    return stock


@dataclass
class Assembly:
    lon: float
    lat: float
    needs: dict[str, int]
    plan: list[dict[str, Any]]
    unmet: list[dict[str, Any]]
    time_min: float | None
    optimal: bool
    method: str
    greedy: dict[str, Any]
    network: str

    def to_feature_collection(self) -> dict[str, Any]:
        feats: list[dict[str, Any]] = [{"type": "Feature", "geometry": mapping(Point(self.lon, self.lat)),
                                        "properties": {"role": "incident"}}]
        for p in self.plan:
            props = {k: v for k, v in p.items() if k != "route"}
            props["role"] = "source"
            feats.append({"type": "Feature", "properties": props,
                          "geometry": mapping(p["route"]) if p.get("route") is not None
                          else mapping(Point(p["lon"], p["lat"]))})
        met = {k: sum(i["quantity"] for p in self.plan for i in p["items"] if i["type"] == k) for k in self.needs}
        return {"type": "FeatureCollection", "features": feats, "metadata": {
            "analysis": "resource assembly 资源调集", "incident": {"lon": self.lon, "lat": self.lat},
            "needs": self.needs, "met": met, "all_met": not self.unmet,
            "time_until_all_met_min": self.time_min, "sources": len(self.plan), "unmet": self.unmet,
            "method": self.method, "optimal": self.optimal, "greedy_nearest_first": self.greedy,
            "network": self.network, "assumptions": ASSUMPTIONS,
            "units": {"eta_min": "minutes", "road_distance_m": "metres", "quantity": "per the type's unit"}}}


def _items(row: np.ndarray, kinds: list[str]) -> list[dict[str, Any]]:
    zh = resource_types()
    return [{"type": k, "zh": zh[k], "quantity": int(q), "unit_zh": unit_zh(k)}
            for k, q in zip(kinds, row, strict=True) if q > 0]


def _nearest_holder(table: SourceTable, k: int, eta_all: np.ndarray, free: np.ndarray, lon: float,
                    lat: float, sent: set[int]) -> dict[str, Any] | None:
    """The nearest depot or team holding type ``k`` that the plan does not already empty (None: none)."""
    holders = np.array([h for h in np.flatnonzero(table.stock[:, k] > 0) if h not in sent], dtype=np.int64)
    if not len(holders):
        return None
    d = np.asarray(distance_and_bearing(np.full(len(holders), lon), np.full(len(holders), lat),
                                        table.lon[holders], table.lat[holders])[0], dtype=float)
    reach = np.isfinite(eta_all[holders])
    order = np.lexsort((d, ~reach, eta_all[holders])) if reach.any() else np.argsort(d)
    h = int(holders[order[0]])
    why = ("not usable now (depot closed or team off duty)" if not table.usable[h]
           else "committed to an open incident" if free[h, k] < table.stock[h, k]
           else "not reachable by road")
    return {"layer": table.layer[h], "id": int(table.ids[h]), "name": table.names[h],
            "quantity": int(table.stock[h, k]), "free": int(free[h, k]),
            "eta_min": round(float(eta_all[h]) / 60, 2) if np.isfinite(eta_all[h]) else None,
            "distance_m": round(float(d[order[0]]), 1), "why_not_sent": why}


def assemble(table: SourceTable, graph: RoadGraph, snap: Snap, lon: float, lat: float, needs: Mapping[str, int],
             committed: Mapping[Unit, Mapping[str, int] | None] | None = None) -> Assembly:
    """The plan for ``needs`` (checked by :func:`.inputs.parse_needs`) at (lon, lat)."""
    kinds = list(needs)
    cols = [table.types.index(k) for k in kinds]
    need = np.array([needs[k] for k in kinds], dtype=np.int64)
    free_all = free_stock(table, committed or {})
    free = free_all[:, cols]
    network = f"{graph.meta.get('source', 'road graph')}: {graph.n_nodes} nodes, {graph.n_arcs} arcs"
    if len(table) and graph.n_arcs:
        eta_all = many_to_one(graph, snap, lon, lat, with_distance=False).eta_s
    else:
        eta_all = np.full(len(table), np.inf)
    helps = free.sum(axis=1) > 0
    eta = np.where(helps, eta_all, np.inf)
    cover = solver.coverable(eta, free, need)
    choice = solver.optimal(eta, free, cover) if cover.any() else None
    base = solver.greedy(eta, free, cover)
    plan: list[dict[str, Any]] = []
    if choice is not None and choice.sources:
        sub = snap.subset(np.array(choice.sources))
        routes = {r.target: r for r in nearest_by_time(graph, lon, lat, sub, k=len(choice.sources))}
        for j, s in enumerate(choice.sources):
            r = routes.get(j)
            layer = table.layer[s]
            plan.append({"layer": layer, "id": int(table.ids[s]), "name": table.names[s],
                         "source_zh": SOURCE_ZH[layer], "detail": table.detail[s],
                         "detail_zh": TEAM_TYPE_ZH.get(table.detail[s], table.detail[s]),
                         "lon": float(table.lon[s]), "lat": float(table.lat[s]),
                         "items": _items(choice.take[j], kinds), "eta_min": round(float(eta[s]) / 60, 2),
                         "road_distance_m": round(r.total_m, 1) if r is not None and r.reachable else None,
                         "route": r.geometry if r is not None and r.reachable else None})
    unmet = []
    sent = set(choice.sources) if choice is not None else set()
    for i, k in enumerate(kinds):
        missing = int(need[i] - cover[i])
        if missing > 0:
            unmet.append({"type": k, "zh": resource_types()[k], "need": int(need[i]), "available": int(cover[i]),
                          "missing": missing, "unit_zh": unit_zh(k),
                          "held_in_total": int(table.stock[:, cols[i]].sum()),
                          "nearest": _nearest_holder(table, cols[i], eta_all, free_all, lon, lat, sent)})
    greedy_time = None if not base.sources else round(base.time_s / 60, 2)
    return Assembly(lon, lat, dict(needs), plan, unmet,
                    None if choice is None or not choice.sources else round(choice.time_s / 60, 2),
                    bool(choice is not None and choice.optimal), choice.method if choice is not None else "none",
                    {"time_until_all_met_min": greedy_time, "sources": len(base.sources)}, network)


def equipment_catalogue() -> list[dict[str, Any]]:
    """The types a need may name: the equipment catalogue and the personnel pseudo-types."""
    out: list[dict[str, Any]] = [{"type": e.type, "zh": e.zh, "en": e.en, "unit": e.unit, "unit_zh": e.unit_zh,
                                  "category": e.category, "confidence": e.confidence, "source": e.source}
                                 for e in equipment_types().values()]
    for k, zh in resource_types().items():
        if k.startswith(PERSONNEL_PREFIX):
            out.append({"type": k, "zh": zh, "en": f"Personnel of {k[len(PERSONNEL_PREFIX):]} teams", "unit": "person",
                        "unit_zh": "人", "category": "personnel", "confidence": "V",
                        "source": "rescue_teams.personnel of on-duty teams of that type"})
    return out
