"""What every product shares: terms validation, step grid checks, the kernel parameter tuple.

A product is frozen terms plus two payoff forms (DESIGN.md section 4):

* ``payoff_paths(paths, times, xp)``: undiscounted payoff of stored spot paths ``(n_paths, n_steps + 1)``
  at ``times`` ``(n_steps + 1,)``, written against the array module ``xp`` (reference backend);
* a streaming accumulator of ``@njit`` functions compiled into the fused kernels:
  ``init(x0, pp) -> acc``, ``observe(acc, i, x_prev, x, var, s0, pp) -> acc`` after step ``i`` and
  ``finish(acc, x, s0, pp) -> payoff``. ``x = log(S / s0)`` (0 today) before and after the step,
  ``var`` the step's log variance, ``s0`` today's spot, ``pp`` the tuple from ``kernel_params``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from riskgpu._checks import choice, finite

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


def sign_of(kind: str) -> float:
    """+1 for a call, -1 for a put."""
    return 1.0 if kind == "call" else -1.0


def cast_params(values: tuple, dtype: np.dtype) -> tuple:
    """Cast the float entries of a kernel parameter tuple to ``dtype``; ints stay int64."""
    return tuple(np.int64(v) if isinstance(v, (int, np.integer)) else dtype.type(v) for v in values)
