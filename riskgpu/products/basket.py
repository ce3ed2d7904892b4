"""European option on a weighted basket of assets (a multi-asset GBM)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numba import njit

from riskgpu._checks import choice, finite
from riskgpu.products.base import cast_params, check_terms, sign_of


@njit(inline="always")
def _basket_finish(value, pp):  # pragma: no cover - compiled
    strike, sign = pp[0], pp[1]
    return max(sign * (value - strike), strike - strike)


@njit(inline="always")
def _arithmetic_term(weight, s0, x):  # pragma: no cover - compiled
    return weight * (s0 * math.exp(x))


@njit(inline="always")
def _geometric_term(weight, s0, x):  # pragma: no cover - compiled
    return weight * (math.log(s0) + x)


@njit(inline="always")
def _geometric_finish(value, pp):  # pragma: no cover - compiled
    strike, sign = pp[0], pp[1]
    return max(sign * (math.exp(value) - strike), strike - strike)


AVERAGES = ("arithmetic", "geometric")


@dataclass(frozen=True, kw_only=True)
class Basket:
    """European basket call/put: payoff ``max(sign * (B - strike), 0)`` with ``B = sum_i weights[i] S_i(T)``
    (``average="arithmetic"``, the default) or ``B = prod_i S_i(T)**weights[i]`` (``"geometric"``; weights
    summing to 1 make it the weighted geometric mean; the control variate of arithmetic baskets, priced
    exactly by ``riskgpu.analytic.geometric_basket_price``).

    Needs a GBM with ``len(weights)`` assets (the model's order). Weights may be negative (spreads).
    GBM steps are exact, so one step is the default. Oracles: QuantLib's Monte Carlo basket engine
    (both standard errors combined), Black-Scholes for one asset or perfectly correlated identical
    assets, the reference backend on the same normals.
    """

    strike: float
    maturity: float
    kind: str = "call"
    weights: tuple[float, ...]
    average: str = "arithmetic"

    slots = 0
    multi_asset = True
    #: no streaming accumulator: the fused basket kernel sums ``basket_term(weight, s0, x)`` over the assets
    #: (``x = log(S(T) / s0)``) and hands the sum to ``basket_finish``
    accumulator = None

    @property
    def basket_term(self) -> object:
        """The per-asset term of the fused kernel's sum (compiled)."""
        return _geometric_term if self.average == "geometric" else _arithmetic_term

    @property
    def basket_finish(self) -> object:
        """The payoff of the fused kernel's sum (compiled)."""
        return _geometric_finish if self.average == "geometric" else _basket_finish

    def __post_init__(self) -> None:
        s, t, k = check_terms("Basket", self.strike, self.maturity, self.kind)
        object.__setattr__(self, "strike", s)
        object.__setattr__(self, "maturity", t)
        object.__setattr__(self, "kind", k)
        object.__setattr__(self, "average", choice("Basket", "average", self.average, AVERAGES))
        w = np.atleast_1d(np.asarray(self.weights, dtype=object))
        if w.ndim != 1 or w.size == 0:
            raise ValueError(f"Basket.weights must be a non-empty 1-d sequence, got {self.weights!r}")
        object.__setattr__(self, "weights", tuple(finite("Basket", f"weights[{i}]", v) for i, v in enumerate(w)))

    @property
    def n_assets(self) -> int:
        """Number of assets (one weight each)."""
        return len(self.weights)

    def default_steps(self) -> int:
        """One step (GBM steps are exact)."""
        return 1

    def check_steps(self, n_steps: int) -> None:
        """Any positive number of steps is valid."""

    def kernel_params(self, n_steps: int, dtype: np.dtype, *, spot: np.ndarray, rate: float) -> tuple:
        """``(strike, sign, weights...)`` in ``dtype``."""
        return cast_params((self.strike, sign_of(self.kind), *self.weights), dtype)

    def payoff_paths(self, paths: np.ndarray, times: np.ndarray, xp: ModuleType = np, **_: object) -> np.ndarray:
        """Undiscounted payoff per path; ``paths`` is ``(n_paths, n_steps + 1, n_assets)``."""
        d = paths.dtype.type
        w = xp.asarray(self.weights, dtype=paths.dtype)
        if self.average == "geometric":
            value = xp.exp((xp.log(paths[:, -1, :]) * w).sum(axis=1))
        else:
            value = (paths[:, -1, :] * w).sum(axis=1)
        return xp.maximum(d(sign_of(self.kind)) * (value - d(self.strike)), d(0.0)).astype(paths.dtype)
