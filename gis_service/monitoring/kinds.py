"""Sensor kinds and their default alarm set points (``gis_service/data/sensor_kinds.csv``).

A sensor's own thresholds (attributes of the ``sensors`` layer) override the kind's defaults; a
blank means "no such rule". :func:`sensor_rules` turns the sensors layer into numpy arrays indexed
by sensor id, which the vectorised checks in :mod:`.rules` use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..models._common import load_table, opt_float

TABLE = "sensor_kinds.csv"
THRESHOLDS = ("low_low", "low", "high", "high_high", "rate_per_h", "deadband", "stale_min")
WEATHER_KINDS = ("wind_direction", "wind_speed")


@dataclass(frozen=True)
class Kind:
    kind: str
    label_zh: str
    label_en: str
    unit: str
    applies_to: str
    defaults: dict[str, float | None]
    confidence: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "label_zh": self.label_zh, "label_en": self.label_en, "unit": self.unit,
                "applies_to": self.applies_to, **self.defaults, "confidence": self.confidence,
                "source": self.source}


@lru_cache(maxsize=1)
def kinds() -> dict[str, Kind]:
    out = {}
    for row in load_table(TABLE):
        out[row["kind"]] = Kind(row["kind"], row["label_zh"], row["label_en"], row["unit"], row["applies_to"],
                                {k: opt_float(row[k]) for k in THRESHOLDS}, row["confidence"], row["source"])
    return out


def effective(props: dict[str, Any]) -> dict[str, float | None]:
    """A sensor's thresholds: its own values, else its kind's defaults."""
    k = kinds()[props["kind"]]
    out = {}
    for name in THRESHOLDS:
        v = props.get(name)
        out[name] = float(v) if v is not None and not (isinstance(v, float) and math.isnan(v)) else k.defaults[name]
    return out


@dataclass
class SensorRules:
    """Per-sensor rule arrays, row ``i`` ↔ ``ids[i]``; NaN = no such rule. ``index`` maps id → row."""

    ids: np.ndarray
    kind: np.ndarray
    unit: np.ndarray
    source_layer: np.ndarray
    source_id: np.ndarray
    th: dict[str, np.ndarray]
    index: dict[int, int]

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self, sensor_ids: np.ndarray) -> np.ndarray:
        """Row of each id, -1 for an unknown sensor (vectorised via searchsorted on sorted ids)."""
        if not len(self.ids):
            return np.full(len(sensor_ids), -1, dtype=np.int64)
        pos = np.searchsorted(self.ids, sensor_ids)
        pos = np.clip(pos, 0, len(self.ids) - 1)
        return np.where(self.ids[pos] == sensor_ids, pos, -1)

    def thresholds(self, row: int) -> dict[str, float | None]:
        return {k: (None if math.isnan(v[row]) else float(v[row])) for k, v in self.th.items()}


def sensor_rules(frame) -> SensorRules:
    """Rules from the sensors layer (a GeoDataFrame indexed by id, as ``Store.frame`` returns)."""
    frame = frame.sort_index()
    ids = frame.index.to_numpy(dtype=np.int64)
    th = {name: np.full(len(ids), np.nan) for name in THRESHOLDS}
    records = frame.drop(columns=frame.geometry.name).to_dict("records")
    for i, props in enumerate(records):
        for name, v in effective(props).items():
            if v is not None:
                th[name][i] = v
    return SensorRules(ids, frame["kind"].to_numpy(dtype=object), frame["unit"].to_numpy(dtype=object),
                       frame["source_layer"].to_numpy(dtype=object),
                       frame["source_id"].to_numpy(dtype=np.int64), th, {int(s): i for i, s in enumerate(ids)})
