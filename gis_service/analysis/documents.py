"""The one way a typed analysis result keeps the document it was validated from.

An engine builds its answer as a JSON-ready document; the facade validates it into the result's pydantic model
(:meth:`Documented.of`) for the map and PDF renderers, which read attributes; the API writes the document itself
(:meth:`Documented.document`), so the JSON is the engine's member for member (members a model does not type are
kept as extra members, never dropped). Mixed into :class:`.qra.results.FnCurve`, :class:`.qra.results.IndividualRisk`
and :class:`.consequence.results.ExposureZones`."""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, PrivateAttr


class Documented(BaseModel):
    _document: dict[str, Any] | None = PrivateAttr(None)

    @classmethod
    def of(cls, doc: dict[str, Any]) -> Self:
        """The engine's document typed; :meth:`document` gives that document back as the API writes it."""
        model = cls.model_validate(doc)
        model._document = doc
        return model

    def document(self) -> dict[str, Any]:
        """The document as the API writes it (the one validated from; else this model's JSON form)."""
        return self._document if self._document is not None else self.model_dump(mode="json")
