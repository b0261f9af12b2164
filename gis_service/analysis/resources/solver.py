"""Which sources to send: the plan that has everything at the incident soonest, with as few sources as
possible (pure functions over arrays; no store, no routing).

Each source s (a depot or a team) arrives at ``eta[s]`` with all it sends, and holds ``stock[s, k]`` of
each needed type k. Everything needed is there at the latest ETA among the sources used, so:

1. **Bottleneck time** T* — the smallest t such that the sources with eta ≤ t together hold every need:
   sort by ETA and take the first prefix whose cumulative stock covers the needs (exact; this is the
   bottleneck problem's optimum, since any plan's time is the ETA of its latest source).
2. **Fewest sources** among those with eta ≤ T* — a covering integer programme
   min Σ y_s (1 + ε·eta_s) s.t. Σ_s min(stock[s,k], need_k)·y_s ≥ need_k, y ∈ {0,1}, solved with
   ``scipy.optimize.milp`` (HiGHS branch and bound, relative gap 0); the ε term (< 1 in total) breaks ties
   by the sum of ETAs. Taking min(stock, need) per source is exact: a chosen source can give all of a need.
3. **Quantities**: each need is taken from the chosen sources in ETA order.

:func:`greedy` is the nearest-first baseline (take every source that still helps, in ETA order), and
:func:`brute_force` the reference for small cases (every subset).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

MILP_TIME_LIMIT_S = 5.0


@dataclass
class Choice:
    sources: list[int]                      # chosen source indices, ETA order
    take: np.ndarray                        # (len(sources), m) quantities taken
    time_s: float                           # ETA of the latest chosen source (inf: nothing chosen)
    met: np.ndarray                         # (m,) quantity met per need
    optimal: bool                           # proven optimal (MILP status 0) or by construction
    method: str

    def key(self, eta: np.ndarray) -> tuple[float, int, float]:
        """(time until all met, number of sources, sum of their ETAs) — the order plans are compared in."""
        return (self.time_s, len(self.sources), float(sum(eta[s] for s in self.sources)))


def _allocate(order: list[int], stock: np.ndarray, need: np.ndarray) -> np.ndarray:
    take = np.zeros((len(order), len(need)), dtype=np.int64)
    left = need.astype(np.int64).copy()
    for i, s in enumerate(order):
        t = np.minimum(stock[s], left)
        take[i] = t
        left -= t
    return take


def _choice(sel: list[int], eta: np.ndarray, stock: np.ndarray, need: np.ndarray, optimal: bool,
            method: str) -> Choice:
    order = sorted(sel, key=lambda s: (eta[s], s))
    take = _allocate(order, stock, need)
    keep = [i for i in range(len(order)) if take[i].sum() > 0]
    order, take = [order[i] for i in keep], take[keep]
    time_s = float(max((eta[s] for s in order), default=np.inf))
    return Choice(order, take, time_s, take.sum(axis=0) if len(order) else np.zeros(len(need), dtype=np.int64),
                  optimal, method)


def bottleneck_time(eta: np.ndarray, stock: np.ndarray, need: np.ndarray) -> float:
    """Smallest ETA by which the sources arrived so far hold every need (inf if never)."""
    ok = np.isfinite(eta)
    idx = np.flatnonzero(ok)
    if not len(idx):
        return float("inf")
    idx = idx[np.lexsort((idx, eta[idx]))]
    cum = np.cumsum(np.minimum(stock[idx], need), axis=0)
    covered = np.all(cum >= need, axis=1)
    if not covered.any():
        return float("inf")
    return float(eta[idx[int(np.argmax(covered))]])


def optimal(eta: np.ndarray, stock: np.ndarray, need: np.ndarray) -> Choice:
    """The plan with the earliest time until every need is met, then the fewest sources, then the least
    sum of ETAs. ``need`` must be coverable by the finite-ETA sources (cap it first; see :func:`coverable`)."""
    need = np.asarray(need, dtype=np.int64)
    t = bottleneck_time(eta, stock, need)
    if not np.isfinite(t):
        return Choice([], np.zeros((0, len(need)), dtype=np.int64), float("inf"),
                      np.zeros(len(need), dtype=np.int64), False, "none")
    cand = np.flatnonzero(np.isfinite(eta) & (eta <= t) & (np.minimum(stock, need).sum(axis=1) > 0))
    a = np.minimum(stock[cand], need).T.astype(float)            # (m, n)
    n = len(cand)
    rel = eta[cand] / max(t, 1.0)
    cost = 1.0 + rel / (n + 1.0)                                  # count first, then the sum of ETAs
    res = milp(cost, constraints=[LinearConstraint(a, lb=need.astype(float), ub=np.inf)],
               integrality=np.ones(n), bounds=Bounds(0, 1),
               options={"mip_rel_gap": 0.0, "time_limit": MILP_TIME_LIMIT_S, "presolve": True})
    if res.x is None:   # time limit without an incumbent: fall back to nearest-first, say so
        g = greedy(eta, stock, need)
        g.optimal, g.method = False, "greedy (MILP gave no solution in time)"
        return g
    sel = [int(cand[i]) for i in np.flatnonzero(res.x > 0.5)]
    return _choice(sel, eta, stock, need, res.status == 0, "bottleneck + scipy.optimize.milp (HiGHS)")


def greedy(eta: np.ndarray, stock: np.ndarray, need: np.ndarray) -> Choice:
    """Nearest-first baseline: in ETA order, send every source that still holds something needed."""
    need = np.asarray(need, dtype=np.int64)
    left = need.copy()
    sel = []
    for s in np.lexsort((np.arange(len(eta)), eta)):
        if not np.isfinite(eta[s]) or not left.any():
            break
        give = np.minimum(stock[s], left)
        if give.any():
            sel.append(int(s))
            left -= give
    return _choice(sel, eta, stock, need, False, "greedy nearest-first")


def brute_force(eta: np.ndarray, stock: np.ndarray, need: np.ndarray) -> tuple[float, int, float] | None:
    """The best key over every subset of the finite-ETA sources (reference for small cases), or None."""
    need = np.asarray(need, dtype=np.int64)
    idx = [int(i) for i in np.flatnonzero(np.isfinite(eta))]
    best = None
    for r in range(1, len(idx) + 1):
        for sub in itertools.combinations(idx, r):
            if np.all(np.minimum(stock[list(sub)], need).sum(axis=0) >= need):
                key = (float(max(eta[s] for s in sub)), r, float(sum(eta[s] for s in sub)))
                if best is None or key < best:
                    best = key
    return best


def coverable(eta: np.ndarray, stock: np.ndarray, need: np.ndarray) -> np.ndarray:
    """What the reachable sources can give of each need: min(need, their total stock)."""
    ok = np.isfinite(eta)
    return np.minimum(need, stock[ok].sum(axis=0)).astype(np.int64)
