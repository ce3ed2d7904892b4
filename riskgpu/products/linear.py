"""Linear instruments of a book: a stock position and a forward contract.

A ``Forward`` is also a Monte Carlo product (its payoff ``S_T - strike`` streams like a European's); a
``Spot`` is only ever valued in closed form (its value is the spot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numba import njit

from riskgpu._checks import finite
from riskgpu.products.base import cast_params, zero_init


@njit(inline="always")
def _observe(acc, i, x_prev, x, var, w, pp):  # pragma: no cover - compiled
    return acc


@njit(inline="always")
def _finish_forward(acc, x, s0, pp):  # pragma: no cover - compiled
    return s0 * math.exp(x) - pp[0]


@dataclass(frozen=True, kw_only=True)
class Spot:
    """One unit of the underlying itself (a stock position): worth the spot, no maturity."""

    n_assets = 1
    lsm = False


@dataclass(frozen=True, kw_only=True)
class Forward:
    """Long forward: pays ``S_T - strike`` at ``maturity``; worth ``S e^{-qT} - strike e^{-rT}`` today.

    Oracle: that closed form (``riskgpu.risk.closed``); as a Monte Carlo product, the reference backend.
    """

    strike: float
    maturity: float

    n_assets = 1
    slots = 0
    accumulator = (zero_init, _observe, _finish_forward)

    def __post_init__(self) -> None:
        object.__setattr__(self, "strike", finite("Forward", "strike", self.strike))
        object.__setattr__(self, "maturity", finite("Forward", "maturity", self.maturity, min_value=0.0))

    def default_steps(self) -> int:
        """One step (the payoff needs only ``S_T``)."""
        return 1

    def check_steps(self, n_steps: int) -> None:
        """Any positive number of steps is valid."""

    def kernel_params(self, n_steps: int, dtype: np.dtype, *, spot: np.ndarray, rate: float) -> tuple:
        """``(strike,)`` in ``dtype``."""
        return cast_params((self.strike,), dtype)

    def payoff_paths(self, paths: np.ndarray, times: np.ndarray, xp: ModuleType = np, **_: object) -> np.ndarray:
        """Undiscounted payoff per path; ``paths`` is ``(n_paths, n_steps + 1)``."""
        return (paths[:, -1] - paths.dtype.type(self.strike)).astype(paths.dtype)
