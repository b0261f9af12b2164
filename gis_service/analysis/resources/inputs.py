"""Request checks of the resource analyses: needs (type → whole quantity ≥ 1, types from the catalogue),
committed units, limits."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ...models.equipment import resource_types
from ...validation import Problem, ValidationFailed

DEPOTS = "supply_depots"
TEAMS = "rescue_teams"
SHELTERS = "shelters"
PLANS = "emergency_plans"
SOURCE_LAYERS = (DEPOTS, TEAMS)
MAX_NEEDS = 50
MAX_QUANTITY = 10_000_000


def parse_needs(needs: Any, field: str = "needs") -> dict[str, int]:
    """``{type: quantity}`` → checked dict; every problem names ``needs.<type>``."""
    if not isinstance(needs, Mapping) or not needs:
        raise ValidationFailed([Problem(None, field, 'must be a non-empty object {type: quantity}, e.g. '
                                        '{"drainage_pump_300m3h": 4, "drilling_rig": 1}')])
    if len(needs) > MAX_NEEDS:
        raise ValidationFailed([Problem(None, field, f"at most {MAX_NEEDS} types (got {len(needs)})")])
    known = resource_types()
    problems, out = [], {}
    for k, q in needs.items():
        where = f"{field}.{k}"
        if k not in known:
            problems.append(Problem(None, where, "unknown equipment type; see GET /analysis/resources/types"))
            continue
        if isinstance(q, bool) or not isinstance(q, int | float) or not math.isfinite(q) or q != int(q):
            problems.append(Problem(None, where, f"must be a whole number (got {q!r})"))
        elif q < 1:
            problems.append(Problem(None, where, f"must be at least 1 (got {q!r})"))
        elif q > MAX_QUANTITY:
            problems.append(Problem(None, where, f"at most {MAX_QUANTITY} (got {q!r})"))
        else:
            out[k] = int(q)
    if problems:
        raise ValidationFailed(problems)
    return out
