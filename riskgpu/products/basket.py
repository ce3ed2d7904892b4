"""European option on a weighted basket of assets (a multi-asset GBM)."""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numba import njit

from riskgpu._checks import finite
from riskgpu.products.base import cast_params, check_terms, sign_of


@njit(inline="always")
def _basket_finish(value, pp):  # pragma: no cover - compiled
    strike, sign = pp[0], pp[1]
    return max(sign * (value - strike), strike - strike)


@dataclass(frozen=True, kw_only=True)
class Basket:
    """European basket call/put: payoff ``max(sign * (sum_i weights[i] S_i(T) - strike), 0)``.

    Needs a GBM with ``len(weights)`` assets (the model's order). Weights may be negative (spreads).
    GBM steps are exact, so one step is the default. Oracles: QuantLib's Monte Carlo basket engine
    (both standard errors combined), Black-Scholes for one asset or perfectly correlated identical
    assets, the reference backend on the same normals.
    """

    strike: float
    maturity: float
    kind: str = "call"
    weights: tuple[float, ...]

    slots = 0
    multi_asset = True
    #: no streaming accumulator: the fused basket kernel hands the terminal basket value to ``basket_finish``
    accumulator = None
    basket_finish = staticmethod(_basket_finish)

    def __post_init__(self) -> None:
        s, t, k = check_terms("Basket", self.strike, self.maturity, self.kind)
        object.__setattr__(self, "strike", s)
        object.__setattr__(self, "maturity", t)
        object.__setattr__(self, "kind", k)
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
        value = (paths[:, -1, :] * xp.asarray(self.weights, dtype=paths.dtype)).sum(axis=1)
        return xp.maximum(d(sign_of(self.kind)) * (value - d(self.strike)), d(0.0)).astype(paths.dtype)
