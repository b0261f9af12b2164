"""The outcome kinds of a QRA outcome case and which have a lethality-field model (:mod:`.fields`): the
leaf both the loss-of-containment scenarios and the fields depend on."""

from __future__ import annotations

RADIAL = ("fireball", "jet_fire", "pool_fire", "vce")
DIRECTIONAL = ("toxic", "flash_fire")


def unavailable(outcome: str) -> str | None:
    """Why an outcome has no field model in this build (None = it has one)."""
    return None if outcome in (*DIRECTIONAL, *RADIAL) else f"no consequence model for outcome {outcome!r}"
