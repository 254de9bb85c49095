"""Calibrated noise and its accounting, all by OpenDP (no home-made noise).

One query's release is a sequence of OpenDP measurements, each given ``epsilon / m`` of
the query's ``epsilon`` (``m`` measurements), composed by basic composition (the sums of
the epsilons and deltas OpenDP's privacy maps report):

The unit of privacy is a person, not a ``pupil_id``: a pupil id is in at most ``L``
cells, and a person under ``c`` contracts of the scope has ``c`` pupil ids (one per
contract pseudonym, ``hub.sandbox.scope.ProjectScope.pseudonyms_per_person``), so a person
adds to at most ``L * c`` cells, at most ``c`` times to one cell (``Bound``).

1. the pupils per cell, keyed by the cell's keys: ``make_laplace_threshold`` (Laplace
   noise on each count; a key is released only when its noisy count passes a threshold
   chosen so that the probability of releasing a key held by few persons is at most
   ``delta``). The input distance is ``(l0, l1, linf) = (L * c, L * c, c)``. When the
   query declared its keys (``hub.sandbox.dp.domain``), the vector of counts of every
   declared cell instead: ``make_laplace`` on integers (discrete Laplace), l1
   sensitivity ``L * c``, no threshold.
2. per measured aggregate, the vector of the released cells' sums of clamped per-pupil
   values: ``make_laplace`` with l1 sensitivity ``L * c * max(|low|, |high|)``; for a
   mean also the vector of pupils with a value (l1 sensitivity ``L * c``).
3. per quantile (``median``, ``quantile``, ``min``, ``max``), each released cell's
   quantile of its pupils' clamped values: ``make_private_quantile`` (exponential
   mechanism over ``CANDIDATES`` evenly spaced candidates within the bounds), the scale
   chosen so that one person, with at most ``L * c`` values over the cells, costs at
   most the measurement's ε.

With one contract (``c = 1``) these are the per-pupil bounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import opendp.prelude as dp

dp.enable_features("contrib")

CANDIDATES = 1001  # a quantile is one of these points of its bounds (steps of 0.1 %)


@dataclass(frozen=True)
class Bound:
    """What one person can add to a release: ``per_pupil`` cells (``L``) for each of
    their ``pseudonyms`` pupil ids (``c``)."""

    per_pupil: int
    pseudonyms: int

    @property
    def cells(self) -> int:
        """``L * c``: the l0 and l1 bound of a person's change to the cell counts."""
        return self.per_pupil * self.pseudonyms

    def report(self) -> dict[str, int]:
        """The bound as release reports and previews state it."""
        return {
            "max_cells_per_pupil": self.per_pupil,
            "pseudonyms_per_person": self.pseudonyms,
            "max_cells_per_person": self.cells,
        }


@dataclass
class Spend:
    """What a release cost (OpenDP's privacy maps) and how its noise was calibrated."""

    epsilon: float = 0.0
    delta: float = 0.0
    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, mechanism: str, scale: float, cost: tuple[float, float], **about: Any) -> None:
        self.epsilon += cost[0]
        self.delta += cost[1]
        self.steps.append(
            {"mechanism": mechanism, "scale": scale, "epsilon": cost[0], "delta": cost[1], **about}
        )


def noisy_counts(
    counts: dict[str, int], bound: Bound, epsilon: float, delta: float, spend: Spend
) -> dict[str, int]:
    """The keys of ``counts`` whose Laplace-noised count passes the threshold, with those
    noisy counts; costs at most ``(epsilon, delta)`` per person."""
    threshold, make = thresholded(bound, epsilon, delta)
    measurement = make(threshold)
    epsilon_spent, delta_spent = measurement.map(_distance(bound))
    scale = bound.cells / epsilon
    spend.add("laplace_threshold", scale, (epsilon_spent, delta_spent), threshold=threshold)
    released: dict[str, int] = measurement(counts)
    return released


def thresholded(bound: Bound, epsilon: float, delta: float) -> tuple[int, Callable[[int], Any]]:
    """The threshold of the noisy pupil counts (a person in at most ``bound.cells``
    cells, Laplace of scale ``bound.cells / epsilon``, at most ``delta`` for a key held
    by few persons), with the maker of OpenDP's measurement for a threshold."""
    domain = dp.map_domain(dp.atom_domain(T=str), dp.atom_domain(T=int))
    metric = dp.l01inf_distance(dp.absolute_distance(T=int))
    scale = bound.cells / epsilon

    def make(threshold: int) -> dp.Measurement:
        return dp.m.make_laplace_threshold(domain, metric, scale=scale, threshold=threshold)

    start = bound.cells + math.ceil(scale)
    return _threshold(make, _distance(bound), delta, start=start), make


def _distance(bound: Bound) -> tuple[int, int, int]:
    """``(l0, l1, linf)`` of a person's change to the cell counts."""
    return (bound.cells, bound.cells, bound.pseudonyms)


def declared_counts(
    counts: dict[str, int], bound: Bound, epsilon: float, spend: Spend
) -> dict[str, int]:
    """Every key of ``counts`` (the cells the query declared, whatever the data) with its
    count under discrete Laplace noise, l1 sensitivity ``bound.cells``; costs
    ``epsilon``."""
    keys = list(counts)
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l1_distance(T=int)
    cells = bound.cells
    scale = cells / epsilon
    measurement = dp.m.make_laplace(*space, scale=scale)
    cost = float(measurement.map(cells))  # type: ignore[no-untyped-call]
    spend.add("laplace", scale, (cost, 0.0), sensitivity=cells, column="pupils per cell")
    noisy: list[int] = measurement([counts[k] for k in keys])
    return dict(zip(keys, noisy, strict=True))


def _threshold(make: Any, d_in: tuple[int, int, int], delta: float, start: int) -> int:
    """The smallest threshold (doubling, then bisecting) whose delta is at most ``delta``."""
    low, high = start, start
    while make(high).map(d_in)[1] > delta:
        low, high = high, high * 2
    while low < high:
        middle = (low + high) // 2
        if make(middle).map(d_in)[1] > delta:
            low = middle + 1
        else:
            high = middle
    return high


def noisy_sums(
    values: Sequence[float], sensitivity: float, epsilon: float, spend: Spend, **about: Any
) -> list[float]:
    """``values`` with Laplace noise calibrated to ``sensitivity`` (l1) for ``epsilon``."""
    if not values:
        return []
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.l1_distance(T=float)
    scale = sensitivity / epsilon if sensitivity > 0 else 0.0
    measurement = dp.m.make_laplace(*space, scale=scale)
    cost = float(measurement.map(float(sensitivity)))  # type: ignore[no-untyped-call]
    spend.add("laplace", scale, (cost, 0.0), sensitivity=sensitivity, **about)
    noisy: list[float] = measurement([float(v) for v in values])
    return noisy


def quantiles(
    cells_values: Sequence[Sequence[float]],
    bounds: tuple[float, float],
    alpha: float,
    cells: int,
    epsilon: float,
    spend: Spend,
    **about: Any,
) -> list[float]:
    """The ``alpha``-quantile of each cell's values (one per pupil, within ``bounds``),
    by OpenDP's private quantile; a person has at most ``cells`` values over the cells
    (``Bound.cells``), so each value costs ``epsilon / cells`` and the whole costs at
    most ``epsilon``."""
    if not cells_values:
        return []
    low, high = bounds
    candidates = [low + (high - low) * i / (CANDIDATES - 1) for i in range(CANDIDATES)]
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance()

    def make(scale: float) -> dp.Measurement:
        return dp.m.make_private_quantile(
            *space, dp.max_divergence(), candidates=candidates, alpha=alpha, scale=scale
        )

    scale = dp.binary_search_param(make, d_in=1, d_out=epsilon / cells, T=float)
    measurement = make(scale)
    cost = cells * float(measurement.map(1))  # type: ignore[no-untyped-call]
    spend.add("private_quantile", scale, (cost, 0.0), alpha=alpha, candidates=CANDIDATES,
              **about)  # fmt: skip
    return [float(measurement([float(v) for v in values])) for values in cells_values]
