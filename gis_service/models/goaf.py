"""Goaf (采空区) surface subsidence — probability-integral method — and the GB 51180 treatment width.

Sources:

- Probability-integral method (概率积分法; Liu Baochen & Liao Guohua; 《建筑物、水体、铁路及主要井巷煤柱
  留设与压煤开采规范》 2017): main influence radius r = H / tanβ; semi-infinite panel subsidence
  W(x) = W₀/2 · [1 + erf(√π·x/r)] with x measured from the goaf edge (positive over the goaf);
  W₀ = q · m · cos α. At x = −r, W/W₀ = ½·(1 − erf √π) ≈ 0.62 %, so the influence zone is the goaf
  outline buffered outward by r. [S]
- Typical Chinese coal-field values: tanβ 1.5–2.2, q 0.34–0.82 [V]. Defaults here: tanβ = 1.5 (the
  low end, giving the largest, i.e. conservative, influence radius) and q = 0.8; both are
  parameters, and tanβ can be overridden per feature (layer field ``tan_beta``).
- GB 51180-2016 (煤矿采空区岩土工程勘察规范) App. A treatment width for siting over a flat-seam goaf:
  B = D + 2·d_s + D′, D′ = 2·(h·cot φ + H·cot δ), φ ≈ 45° loose-layer angle [M], d_s = 20/15/10/5 m
  for building grades I–IV [S/M].

Limitations: semi-infinite, flat, fully extracted panel; ignores horizontal offset of the
inflection point (拐点偏移距), multiple seams, time since mining (residual subsidence) and
non-coal orebodies (parameters for metal mines differ).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ._common import ModelResult, json_safe, require_positive

MODEL = "Probability-integral subsidence (goaf influence zone)"
TAN_BETA = 1.5
SUBSIDENCE_FACTOR = 0.8
LOOSE_LAYER_ANGLE_DEG = 45.0
PROTECTION_BELT_M = {1: 20.0, 2: 15.0, 3: 10.0, 4: 5.0}  # GB 51180-2016 App. A, grades I–IV [S/M]
SOURCES = [
    "Probability-integral method: r = H/tanβ, W(x) = W0/2·[1+erf(√π·x/r)], W0 = q·m·cosα [S]",
    "Typical Chinese coal-field parameters tanβ 1.5–2.2, q 0.34–0.82 [V]",
]
TREATMENT_SOURCES = [
    "GB 51180-2016 煤矿采空区岩土工程勘察规范 App. A: B = D + 2·d_s + D′, D′ = 2·(h·cotφ + H·cotδ) "
    " [S/M]",
]


def influence_radius_m(mining_depth_m: float, tan_beta: float = TAN_BETA) -> float:
    """Main influence radius r = H / tanβ (m)."""
    return require_positive("mining_depth_m", mining_depth_m) / require_positive("tan_beta", tan_beta)


def max_subsidence_m(seam_thickness_m: float, subsidence_factor: float = SUBSIDENCE_FACTOR, dip_deg: float = 0.0) -> float:
    """W₀ = q · m · cos α (m)."""
    m = require_positive("seam_thickness_m", seam_thickness_m)
    q = require_positive("subsidence_factor", subsidence_factor)
    if not 0 <= dip_deg < 90:
        raise ValueError(f"dip_deg must be in [0, 90) (got {dip_deg})")
    return q * m * math.cos(math.radians(dip_deg))


def subsidence_m(x_m: float, w0_m: float, radius_m: float) -> float:
    """W(x) = W₀/2·[1 + erf(√π·x/r)]; x from the goaf edge, positive towards the goaf."""
    r = require_positive("radius_m", radius_m)
    return w0_m / 2.0 * (1.0 + math.erf(math.sqrt(math.pi) * x_m / r))


@dataclass(frozen=True)
class GoafResult(ModelResult):
    parameters: dict[str, Any]
    influence_radius_m: float
    buffer_distance_m: float
    max_subsidence_m: float
    subsidence_at_buffer_edge_m: float
    subsidence_ratio_at_buffer_edge: float
    sources: tuple[str, ...]
    limitations: tuple[str, ...]
    model: str = MODEL



def goaf_influence(
    mining_depth_m: float,
    seam_thickness_m: float,
    *,
    dip_deg: float | None = 0.0,
    tan_beta: float | None = None,
    subsidence_factor: float = SUBSIDENCE_FACTOR,
) -> GoafResult:
    """Influence zone of a goaf: buffer the goaf outline outward by ``buffer_distance_m`` (= r).

    ``tan_beta`` None → the default 1.5 (pass the feature's own value to override).
    """
    tb = TAN_BETA if tan_beta is None else tan_beta
    dip = 0.0 if dip_deg is None else float(dip_deg)
    r = influence_radius_m(mining_depth_m, tb)
    w0 = max_subsidence_m(seam_thickness_m, subsidence_factor, dip)
    w_edge = subsidence_m(-r, w0, r)
    limitations = [
        f"tanβ = {tb:g} {'(default, conservative low end of 1.5–2.2)' if tan_beta is None else '(given)'} and "
        f"q = {subsidence_factor:g} are assumptions; site-measured parameters should replace them.",
        "Semi-infinite flat panel; ignores inflection-point offset, multiple seams, residual subsidence over time "
        "and non-coal orebodies.",
    ]
    return GoafResult(
        parameters={"mining_depth_m": float(mining_depth_m), "seam_thickness_m": float(seam_thickness_m),
                    "dip_deg": dip, "tan_beta": tb, "subsidence_factor": subsidence_factor},
        influence_radius_m=r,
        buffer_distance_m=r,
        max_subsidence_m=w0,
        subsidence_at_buffer_edge_m=w_edge,
        subsidence_ratio_at_buffer_edge=w_edge / w0,
        sources=tuple(SOURCES),
        limitations=tuple(limitations),
    )


def treatment_width_m(
    goaf_width_m: float,
    building_grade: int,
    loose_layer_thickness_m: float,
    bedrock_thickness_m: float,
    boundary_angle_deg: float,
    *,
    loose_layer_angle_deg: float = LOOSE_LAYER_ANGLE_DEG,
) -> dict[str, Any]:
    """GB 51180-2016 App. A treatment width B = D + 2·d_s + D′ for a flat seam (all lengths in m).

    D′ = 2·(h·cot φ + H·cot δ): h loose-layer thickness, φ loose-layer angle (default 45° [M]),
    H bedrock thickness above the goaf, δ boundary angle (typically 53–68°). d_s = 20/15/10/5 m for
    building grades I–IV.
    """
    d = require_positive("goaf_width_m", goaf_width_m)
    if building_grade not in PROTECTION_BELT_M:
        raise ValueError(f"building_grade must be 1..4 (I–IV) (got {building_grade!r})")
    h = require_positive("loose_layer_thickness_m", loose_layer_thickness_m, allow_zero=True)
    rock = require_positive("bedrock_thickness_m", bedrock_thickness_m, allow_zero=True)
    for name, ang in (("boundary_angle_deg", boundary_angle_deg), ("loose_layer_angle_deg", loose_layer_angle_deg)):
        if not 0 < ang < 90:
            raise ValueError(f"{name} must be in (0, 90) degrees (got {ang})")
    ds = PROTECTION_BELT_M[building_grade]
    d_prime = 2.0 * (h / math.tan(math.radians(loose_layer_angle_deg)) + rock / math.tan(math.radians(boundary_angle_deg)))
    return json_safe({
        "model": "GB 51180-2016 App. A goaf treatment width",
        "parameters": {"goaf_width_m": d, "building_grade": building_grade, "loose_layer_thickness_m": h,
                       "bedrock_thickness_m": rock, "boundary_angle_deg": boundary_angle_deg,
                       "loose_layer_angle_deg": loose_layer_angle_deg},
        "protection_belt_m": ds,
        "influence_width_m": d_prime,
        "treatment_width_m": d + 2 * ds + d_prime,
        "sources": TREATMENT_SOURCES,
        "limitations": [
            "Flat seams only; loose-layer angle φ ≈ 45° and the d_s belt values are [M]/[S].",
        ],
    })
