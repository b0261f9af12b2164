"""OGC API – Processes descriptions generated from pydantic models: each field of a process's input model is
one input (``title``, ``description``, ``schema`` = the field's JSON Schema with ``$ref`` resolved,
``minOccurs`` 1 when required), so the analysis endpoints and the processes share one definition of every
parameter, its default and its limits."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ValidationError

from ..validation import Problem


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local ``$ref`` replaced by its definition (process descriptions are read by
    clients that do not follow references into a ``$defs`` they never see)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = copy.deepcopy(defs[ref.removeprefix("#/$defs/")])
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return _resolve({**target, **rest}, defs)
        return {k: _resolve(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_resolve(v, defs) for v in node]
    return node


def inputs_of(model: type[BaseModel]) -> dict[str, dict[str, Any]]:
    """OGC process-description ``inputs`` of a pydantic model."""
    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    required = set(schema.get("required", ()))
    out = {}
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(prop, defs)
        description = prop.pop("description", "")
        title = prop.pop("title", name)
        out[name] = {"title": title, "description": description, "schema": prop,
                     "minOccurs": 1 if name in required else 0, "maxOccurs": 1}
    return out


def problems(exc: ValidationError, model: type[BaseModel]) -> list[Problem]:
    """Validation errors as problems naming the input (``inputs.<name>``)."""
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "inputs"
        msg = err.get("msg", "invalid").removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = f"unknown input; accepted: {', '.join(model.model_fields)}"
        out.append(Problem(None, f"inputs.{loc}", msg))
    return out
