"""European options and cash-or-nothing digitals on one asset."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numba import njit

from riskgpu._checks import finite
from riskgpu.products.base import cast_params, check_terms, sign_of, zero_init


@njit(inline="always")
def _observe(acc, i, x_prev, x, var, w, pp):  # pragma: no cover - compiled
    return acc


@njit(inline="always")
def _finish_european(acc, x, s0, pp):  # pragma: no cover - compiled
    strike, sign = pp[0], pp[1]
    return max(sign * (s0 * math.exp(x) - strike), strike - strike)


@njit(inline="always")
def _finish_digital(acc, x, s0, pp):  # pragma: no cover - compiled
    strike, sign, payout = pp[0], pp[1], pp[2]
    return payout if sign * (s0 * math.exp(x) - strike) > strike - strike else payout - payout


@dataclass(frozen=True, kw_only=True)
class European:
    """European call or put on one asset: payoff ``max(sign * (S_T - strike), 0)``.

    Oracle: Black-Scholes (``riskgpu.analytic.bs_price``).
    """

    strike: float
    maturity: float
    kind: str = "call"

    n_assets = 1
    slots = 0
    accumulator = (zero_init, _observe, _finish_european)

    def __post_init__(self) -> None:
        s, t, k = check_terms("European", self.strike, self.maturity, self.kind)
        object.__setattr__(self, "strike", s)
        object.__setattr__(self, "maturity", t)
        object.__setattr__(self, "kind", k)

    def default_steps(self) -> int:
        """Steps when ``n_steps`` is not given: one (GBM steps are exact)."""
        return 1

    def check_steps(self, n_steps: int) -> None:
        """Any positive number of steps is valid."""

    def kernel_params(self, n_steps: int, dtype: np.dtype, *, spot: np.ndarray, rate: float) -> tuple:
        """``(strike, sign)`` in ``dtype``."""
        return cast_params((self.strike, sign_of(self.kind)), dtype)

    def payoff_paths(self, paths: np.ndarray, times: np.ndarray, xp: ModuleType = np, **_: object) -> np.ndarray:
        """Undiscounted payoff per path; ``paths`` is ``(n_paths, n_steps + 1)``."""
        s = paths[:, -1]
        return xp.maximum(sign_of(self.kind) * (s - self.strike), 0.0).astype(paths.dtype)


@dataclass(frozen=True, kw_only=True)
class Digital:
    """Cash-or-nothing digital: pays ``payout`` if ``S_T > strike`` (call) or ``S_T < strike`` (put).

    Oracle: Black-Scholes ``payout * exp(-r T) * N(+-d2)`` (``riskgpu.analytic.digital_price``).
    """

    strike: float
    maturity: float
    kind: str = "call"
    payout: float = 1.0

    n_assets = 1
    slots = 0
    accumulator = (zero_init, _observe, _finish_digital)

    def __post_init__(self) -> None:
        s, t, k = check_terms("Digital", self.strike, self.maturity, self.kind)
        object.__setattr__(self, "strike", s)
        object.__setattr__(self, "maturity", t)
        object.__setattr__(self, "kind", k)
        object.__setattr__(self, "payout", finite("Digital", "payout", self.payout, min_value=0.0))

    def default_steps(self) -> int:
        """One step."""
        return 1

    def check_steps(self, n_steps: int) -> None:
        """Any positive number of steps is valid."""

    def kernel_params(self, n_steps: int, dtype: np.dtype, *, spot: np.ndarray, rate: float) -> tuple:
        """``(strike, sign, payout)`` in ``dtype``."""
        return cast_params((self.strike, sign_of(self.kind), self.payout), dtype)

    def payoff_paths(self, paths: np.ndarray, times: np.ndarray, xp: ModuleType = np, **_: object) -> np.ndarray:
        """Undiscounted payoff per path; ``paths`` is ``(n_paths, n_steps + 1)``."""
        s = paths[:, -1]
        hit = sign_of(self.kind) * (s - paths.dtype.type(self.strike)) > 0
        return xp.where(hit, paths.dtype.type(self.payout), paths.dtype.type(0.0))
