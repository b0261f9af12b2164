"""The exposure facade: consequence zones of a stored feature or a what-if release and the receptors inside
them; the GB 18218 grading of hazard sources."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from shapely.geometry import Point

from ..analysis import grading
from ..analysis.borders import AdminAreas
from ..analysis.consequence import exposure
from ..analysis.consequence.dispatch import check_layer
from ..analysis.consequence.exposure import ExposureResult
from ..analysis.consequence.params import ScenarioParams
from ..stores.base import Feature, Store


class ExposureService:
    def __init__(self, store: Store):
        self.store = store
        # the admin areas for the border note (the layers facade's cache; wired by Services.build)
        self.admin_areas: Callable[[], AdminAreas] | None = None

    def _border(self, result: ExposureResult) -> ExposureResult:
        """Name the other jurisdictions the zones reach (exposure crosses borders; issue 20)."""
        anchor = result.zoneset.source.get("anchor_lonlat")
        if self.admin_areas is None or not anchor:
            return result
        return exposure.with_border(result, Point(*anchor[:2]), self.admin_areas())

    def feature(self, layer: str, fid: int, params: ScenarioParams | None = None) -> ExposureResult:
        """Zones of a hazard source, tailings dam or goaf area and the receptors inside them, and which other
        jurisdictions they reach (``metadata.border``)."""
        check_layer(layer)
        return self._border(exposure.feature_exposure(self.store, layer, fid, params))

    def source(self, layer: str, fid: int) -> Feature:
        return self.store.get(layer, fid)

    def what_if(self, lon: float, lat: float, substance: str, quantity_t: float,
                params: ScenarioParams | None = None, storage: str | None = None) -> ExposureResult:
        return self._border(exposure.what_if_exposure(self.store, lon, lat, substance, quantity_t, params,
                                                      storage=storage))

    def grading_record(self, fid: int) -> dict[str, Any]:
        return grading.grade_feature(self.store, fid)

    def regrade(self, write: bool = False, progress=None) -> grading.RegradeSummary:
        return grading.regrade_all(self.store, write=write, progress=progress)
