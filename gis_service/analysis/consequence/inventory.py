"""A unit's inventory (``[{substance, cas?, quantity_t, storage?}, …]``) → known substances with quantities."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ...models.substances import STORAGE_TYPES, Substance, UnknownSubstance, lookup
from ...validation import Problem, ValidationFailed, inventory_extras
from .params import MAX_QUANTITY_T


@dataclass
class InventoryItem:
    substance: Substance
    label: str
    quantity_t: float
    storage: str = "atmospheric"
    storage_basis: str = "substance table default"
    attributes: dict[str, Any] = field(default_factory=dict)  # optional LOC / class attributes, checked


def parse_inventory(inventory: Any, field_name: str = "inventory") -> tuple[list[InventoryItem], list[str]]:
    """Inventory list → known substances with quantities; unknown substances are skipped with a warning
    (a stored feature), while a bad quantity raises ValidationFailed naming the item."""
    if not isinstance(inventory, (list, tuple)) or not inventory:
        raise ValidationFailed([Problem(None, field_name, "must be a non-empty list of {substance, quantity_t}")])
    items, warnings, problems = [], [], []
    for i, entry in enumerate(inventory):
        if not isinstance(entry, dict):
            problems.append(Problem(None, f"{field_name}[{i}]", "must be an object {substance, quantity_t}"))
            continue
        q = entry.get("quantity_t")
        if (isinstance(q, bool) or not isinstance(q, (int, float)) or not math.isfinite(q) or q < 0
                or q > MAX_QUANTITY_T):
            problems.append(Problem(None, f"{field_name}[{i}].quantity_t",
                                    f"must be a number of tonnes in 0–{MAX_QUANTITY_T:g} (got {q!r})"))
            continue
        storage = entry.get("storage")
        if storage is not None and storage not in STORAGE_TYPES:
            problems.append(Problem(None, f"{field_name}[{i}].storage",
                                    f"must be one of {', '.join(STORAGE_TYPES)} (got {storage!r})"))
            continue
        try:
            extras = inventory_extras(i, entry)
        except ValueError as exc:
            problems.append(Problem(None, f"{field_name}[{i}]", str(exc)))
            continue
        name = entry.get("substance") or entry.get("cas")
        try:
            sub = lookup(name)
        except UnknownSubstance as exc:
            if entry.get("cas"):
                try:
                    sub = lookup(entry["cas"])
                except UnknownSubstance:
                    warnings.append(f"{field_name}[{i}]: {exc}; not modelled")
                    continue
            else:
                warnings.append(f"{field_name}[{i}]: {exc}; not modelled")
                continue
        if q == 0:
            continue
        items.append(InventoryItem(sub, str(name), float(q), storage or sub.default_storage,
                                   "inventory item" if storage else "substance table default", extras))
    if problems:
        raise ValidationFailed(problems)
    return items, warnings


