"""How noisy a release under differential privacy will be, stated before it runs.

From a query's plan (its measurements, the most cells ``L`` a pupil id adds to, declared
or thresholded keys), the pseudonyms ``c`` a person has in the scope (one per contract)
and the ε it would spend, the noise of each released number, with the same calibration
as ``hub.sandbox.dp.release``: each measurement gets ``ε' = epsilon_share``, a count's
Laplace noise has scale ``L * c / ε'``, a sum's ``L * c * max(|low|, |high|) / ε'``, a
mean's sum ``L * c * (high - low) / 2 / ε'`` (divided by the cell's pupils).
A Laplace number of scale ``b`` lies within ``± b * ln 20`` of the exact value with
probability 95 %, and within ``± t`` with probability ``1 - exp(-t / b)`` (the discrete
Laplace of declared keys is within a rounding of it). Nothing here reads data.
"""

from __future__ import annotations

import math
from typing import Any

from hub.sandbox.dp import noise
from hub.sandbox.dp.release import bound, epsilon_share
from hub.sandbox.dp.shape import DpPlan, Measure
from hub.sandbox.scope import ProjectScope

Z95 = math.log(20)  # P(|Laplace(b)| <= b * ln 20) = 95 %
COUNTS = ("pupils", "count")


def preview(dp_plan: DpPlan, scope: ProjectScope, delta: float) -> dict[str, Any]:
    """The accuracy report of ``dp_plan`` on ``scope``, spending the scope's
    ``epsilon_per_query`` (module docstring)."""
    epsilon = scope.epsilon_per_query
    share = epsilon_share(dp_plan, epsilon)
    person = bound(dp_plan, scope)
    cells = person.cells
    out: dict[str, Any] = {
        "epsilon": epsilon,
        "epsilon_per_measurement": round(share, 6),
        **person.report(),
        "min_cell_size": scope.min_cell_size,
        "min_pupil_ids_per_cell": scope.min_pupil_ids,
        "keys": "declared" if dp_plan.declared else "noisy threshold",
        "measures": [_measure(m, dp_plan.items[m.item], cells, share) for m in dp_plan.measures],
    }
    if not dp_plan.declared:
        out["threshold"] = noise.thresholded(person, share, delta)[0]
    return out


def within(value: float, scale: float, fraction: float = 0.1) -> float:
    """The probability that a Laplace number of ``scale`` is within ``fraction`` of
    ``value``."""
    return 1.0 - math.exp(-fraction * value / scale) if scale > 0 else 1.0


def _measure(m: Measure, column: str, cells: int, share: float) -> dict[str, Any]:
    about: dict[str, Any] = {"column": column, "kind": m.kind}
    low, high = m.bounds
    if m.kind in COUNTS:
        scale = cells / share
        return about | {
            "scale": round(scale, 4),
            "noise_95": round(scale * Z95, 2),
            "within_10_percent_at_100_pupils": round(within(100, scale), 4),
            "pupils_for_10_percent_95": math.ceil(10 * scale * Z95),
        }
    if m.kind == "sum":
        scale = cells * max(abs(low), abs(high)) / share
        return about | {"bounds": [low, high], "scale": round(scale, 4),
                        "noise_95": round(scale * Z95, 4)}  # fmt: skip
    if m.kind == "avg":
        scale = cells * (high - low) / 2 / share
        return about | {
            "bounds": [low, high],
            "scale_of_sum": round(scale, 4),
            "noise_95_at_100_pupils": round(scale * Z95 / 100, 4),
            "noise_95_at_1000_pupils": round(scale * Z95 / 1000, 4),
        }
    return about | {"bounds": [low, high], "epsilon_per_cell": round(share / cells, 6)}
