"""What every product shares: terms validation, step grid checks, the kernel parameter tuple.

A product is frozen terms plus two payoff forms (DESIGN.md section 4):

* ``payoff_paths(paths, times, xp, *, var, w, rate)``: undiscounted payoff of stored spot paths
  ``(n_paths, n_steps + 1)`` at ``times`` ``(n_steps + 1,)``, written against the array module ``xp``
  (reference backend); ``var`` ``(n_paths, n_steps)`` the steps' log variances, ``w`` the product's
  own normals ``(n_paths, n_steps)`` when ``slots == 1``;
* a streaming accumulator of ``@njit`` functions compiled into the fused kernels:
  ``init(x0, pp) -> acc``, ``observe(acc, i, x_prev, x, var, w, pp) -> acc`` after step ``i`` and
  ``finish(acc, x, s0, pp) -> payoff``. ``x = log(S / s0)`` (0 today) before and after the step,
  ``var`` the step's log variance (the Brownian-bridge corrections use it), ``w`` the product's normal
  for the step (0 when it draws none), ``s0`` today's spot, ``pp`` the tuple from
  ``kernel_params(n_steps, dtype, spot=, rate=)``, whose float entries carry the kernel's dtype (a
  float64 literal in a float32 kernel would promote it: constants travel in ``pp``).

``slots`` is the number of normals a product draws per step besides the model's (0 or 1).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from riskgpu._checks import choice, finite, positive_int

KINDS = ("call", "put")


@njit(inline="always")
def zero_init(x0, pp):  # pragma: no cover - compiled
    """Accumulator start for products that keep one running sum (or none): ``(0,)`` in x0's dtype."""
    return (x0 - x0,)


def check_terms(owner: str, strike: object, maturity: object, kind: object) -> tuple[float, float, str]:
    """Validate the common terms; negative strike or maturity, NaN, inf and unknown kinds are errors."""
    return (
        finite(owner, "strike", strike, min_value=0.0),
        finite(owner, "maturity", maturity, min_value=0.0),
        choice(owner, "kind", kind, KINDS),
    )


def check_seasoned_flag(owner: str, field: str, value: object) -> bool:
    """A seasoned-state flag must be a real bool (a string "False" would be truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{owner}.{field} must be True or False, got {value!r}")
    return bool(value)


def fixing_every(owner: str, n_steps: int, n_fixings: int) -> int:
    """Steps between fixings; ``n_steps`` must be a multiple of ``n_fixings``."""
    if n_steps % n_fixings:
        raise ValueError(f"n_steps must be a multiple of {owner}.n_fixings={n_fixings}, got {n_steps}")
    return n_steps // n_fixings


MONITORING = ("continuous", "discrete")
#: Steps used for continuous monitoring when ``n_steps`` is not given.
CONTINUOUS_STEPS = 50


def check_monitoring(owner: str, monitoring: object, n_fixings: object) -> tuple[str, int | None]:
    """``monitoring`` is "continuous" or "discrete"; discrete needs ``n_fixings``, continuous refuses it."""
    monitoring = choice(owner, "monitoring", monitoring, MONITORING)
    if monitoring == "discrete":
        if n_fixings is None:
            raise ValueError(f"{owner}.n_fixings is required with monitoring='discrete' (the monitoring dates)")
        return monitoring, positive_int(owner, "n_fixings", n_fixings)
    if n_fixings is not None:
        raise ValueError(f"{owner}.n_fixings={n_fixings!r} needs monitoring='discrete' (monitoring is continuous)")
    return monitoring, None


class Monitored:
    """Step grid of a product monitored at ``n_fixings`` dates (discrete) or continuously.

    Needs the attributes ``monitoring`` and ``n_fixings`` (see ``check_monitoring``).
    """

    def default_steps(self) -> int:
        """``n_fixings`` (discrete) or ``CONTINUOUS_STEPS`` (continuous)."""
        return self.n_fixings if self.monitoring == "discrete" else CONTINUOUS_STEPS

    def check_steps(self, n_steps: int) -> None:
        """Discrete monitoring needs ``n_steps`` a multiple of ``n_fixings``."""
        self.every(n_steps)

    def every(self, n_steps: int) -> int:
        """Steps between monitoring dates (1 for continuous monitoring)."""
        if self.monitoring != "discrete":
            return 1
        return fixing_every(type(self).__name__, n_steps, self.n_fixings)


def sign_of(kind: str) -> float:
    """+1 for a call, -1 for a put."""
    return 1.0 if kind == "call" else -1.0


def cast_params(values: tuple, dtype: np.dtype) -> tuple:
    """Cast the float entries of a kernel parameter tuple to ``dtype``; ints stay int64."""
    return tuple(np.int64(v) if isinstance(v, (int, np.integer)) else dtype.type(v) for v in values)
