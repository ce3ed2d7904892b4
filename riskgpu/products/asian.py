"""Fixed-strike Asian options, arithmetic or geometric average, on one asset."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numba import njit

from riskgpu._checks import choice, positive_int
from riskgpu.products.base import cast_params, check_terms, sign_of, zero_init

AVERAGES = ("arithmetic", "geometric")


@njit(inline="always")
def _observe(acc, i, x_prev, x, var, s0, pp):  # pragma: no cover - compiled
    every, geometric = pp[3], pp[4]
    if (i + 1) % every == 0:
        if geometric:
            return (acc[0] + x,)
        return (acc[0] + math.exp(x),)
    return acc


@njit(inline="always")
def _finish(acc, x, s0, pp):  # pragma: no cover - compiled
    strike, sign, n_fix, geometric = pp[0], pp[1], pp[2], pp[4]
    avg = acc[0] / n_fix
    avg = s0 * (math.exp(avg) if geometric else avg)
    return max(sign * (avg - strike), strike - strike)


@dataclass(frozen=True, kw_only=True)
class Asian:
    """Fixed-strike Asian: payoff ``max(sign * (A - strike), 0)``, A the average of the fixings.

    Fixings at ``maturity * i / n_fixings``, ``i = 1..n_fixings`` (today's spot is not a fixing);
    ``n_steps`` must be a multiple of ``n_fixings``. ``average`` is ``"arithmetic"`` or ``"geometric"``.
    Oracles: the discrete geometric closed form (``riskgpu.analytic.geometric_asian_price``) and
    QuantLib's Monte Carlo engine for the arithmetic average.
    """

    strike: float
    maturity: float
    kind: str = "call"
    n_fixings: int = 12
    average: str = "arithmetic"

    n_assets = 1
    accumulator = (zero_init, _observe, _finish)

    def __post_init__(self) -> None:
        s, t, k = check_terms("Asian", self.strike, self.maturity, self.kind)
        object.__setattr__(self, "strike", s)
        object.__setattr__(self, "maturity", t)
        object.__setattr__(self, "kind", k)
        object.__setattr__(self, "n_fixings", positive_int("Asian", "n_fixings", self.n_fixings))
        object.__setattr__(self, "average", choice("Asian", "average", self.average, AVERAGES))

    def default_steps(self) -> int:
        """One step per fixing."""
        return self.n_fixings

    def check_steps(self, n_steps: int) -> None:
        """``n_steps`` must be a multiple of ``n_fixings``."""
        if n_steps % self.n_fixings:
            raise ValueError(f"n_steps must be a multiple of Asian.n_fixings={self.n_fixings}, got {n_steps}")

    def kernel_params(self, n_steps: int, dtype: np.dtype) -> tuple:
        """``(strike, sign, n_fixings, steps_per_fixing, geometric)``."""
        floats = cast_params((self.strike, sign_of(self.kind), float(self.n_fixings)), dtype)
        return (*floats, np.int64(n_steps // self.n_fixings), self.average == "geometric")

    def fixing_columns(self, n_steps: int) -> np.ndarray:
        """Indices of the fixing dates in a path of ``n_steps + 1`` points."""
        every = n_steps // self.n_fixings
        return every * np.arange(1, self.n_fixings + 1)

    def payoff_paths(self, paths: np.ndarray, times: np.ndarray, xp: ModuleType = np) -> np.ndarray:
        """Undiscounted payoff per path; ``paths`` is ``(n_paths, n_steps + 1)``."""
        fix = paths[:, self.fixing_columns(paths.shape[1] - 1)]
        if self.average == "geometric":
            s0 = paths[:, :1]
            avg = s0[:, 0] * xp.exp(xp.log(fix / s0).mean(axis=1))
        else:
            avg = fix.mean(axis=1)
        return xp.maximum(sign_of(self.kind) * (avg - self.strike), 0.0).astype(paths.dtype)
