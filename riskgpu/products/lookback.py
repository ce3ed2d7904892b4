"""Lookback options, floating or fixed strike, discrete or continuous monitoring; seasoned extremes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numba import njit, uint32

from riskgpu._checks import choice, finite
from riskgpu.products.base import KINDS, Monitored, cast_params, check_monitoring, sign_of


@njit(inline="always")
def _init(x0, pp):  # pragma: no cover - compiled
    return (max(x0, pp[3]), min(x0, pp[4]), uint32(pp[6]))


@njit(inline="always")
def _observe(acc, i, x_prev, x, var, w, pp):  # pragma: no cover - compiled
    continuous, every, half, inv_sqrt2 = pp[5], pp[6], pp[7], pp[8]
    hi, lo, left = acc
    if continuous:
        # the extreme of the Brownian bridge from x_prev to x with variance var, drawn from U = Phi(w)
        u = half * math.erfc(-w * inv_sqrt2)
        dx = x - x_prev
        r = math.sqrt(dx * dx - (var + var) * math.log(u))
        return (max(hi, half * (x_prev + x + r)), min(lo, half * (x_prev + x - r)), left)
    # discrete: ``left`` counts the steps to the next observation (no integer division per step)
    left = uint32(left - uint32(1))
    if left == uint32(0):
        return (max(hi, x), min(lo, x), uint32(every))
    return (hi, lo, left)


@njit(inline="always")
def _finish(acc, x, s0, pp):  # pragma: no cover - compiled
    strike, sign, floating = pp[0], pp[1], pp[2]
    zero = strike - strike
    if floating:
        if sign > zero:
            return s0 * math.exp(x) - s0 * math.exp(acc[1])
        return s0 * math.exp(acc[0]) - s0 * math.exp(x)
    if sign > zero:
        return max(s0 * math.exp(acc[0]) - strike, zero)
    return max(strike - s0 * math.exp(acc[1]), zero)


@dataclass(frozen=True, kw_only=True)
class Lookback(Monitored):
    """Lookback call or put on one asset.

    Floating strike (``strike=None``): the call pays ``S_T - min``, the put ``max - S_T``. Fixed strike:
    the call pays ``max(max - strike, 0)``, the put ``max(strike - min, 0)``. The extremes include
    today's spot and the seasoned ``running_max`` / ``running_min`` (extremes already observed).

    ``monitoring="discrete"``: extremes over ``maturity * i / n_fixings``, ``i = 1..n_fixings``.
    ``"continuous"``: each step draws one extra normal ``w`` and takes the exact extreme of the Brownian
    bridge between the step's end points, ``(x0 + x1 +- sqrt((x1 - x0)**2 - 2 var log U)) / 2`` with
    ``U = Phi(w)`` (exact under GBM at any number of steps).

    Oracles: the continuous closed forms and their Broadie-Glasserman-Kou shift for discrete monitoring
    (``riskgpu.analytic.lookback_price``); the reference backend on the same normals.
    """

    maturity: float
    kind: str = "call"
    strike: float | None = None
    monitoring: str = "continuous"
    n_fixings: int | None = None
    running_max: float | None = None
    running_min: float | None = None

    n_assets = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "maturity", finite("Lookback", "maturity", self.maturity, min_value=0.0))
        object.__setattr__(self, "kind", choice("Lookback", "kind", self.kind, KINDS))
        if self.strike is not None:
            object.__setattr__(self, "strike", finite("Lookback", "strike", self.strike, min_value=0.0))
        monitoring, n_fixings = check_monitoring("Lookback", self.monitoring, self.n_fixings)
        object.__setattr__(self, "monitoring", monitoring)
        object.__setattr__(self, "n_fixings", n_fixings)
        for name in ("running_max", "running_min"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, finite("Lookback", name, value, min_value=0.0, strict=True))
        if self.running_max is not None and self.running_min is not None and self.running_min > self.running_max:
            raise ValueError(
                f"Lookback.running_min={self.running_min!r} is above Lookback.running_max={self.running_max!r}"
            )

    @property
    def slots(self) -> int:
        """One normal per step for the bridge extreme under continuous monitoring, else none."""
        return 1 if self.monitoring == "continuous" else 0

    @property
    def accumulator(self) -> tuple:
        """``(init, observe, finish)``: state ``(log max, log min, steps to the next discrete observation)``,
        the extremes relative to today's spot."""
        return _init, _observe, _finish

    def _extremes(self, s0: float) -> tuple[float, float]:
        """Seasoned extremes as ``log(level / spot)``; they must bracket today's spot."""
        if self.running_max is not None and self.running_max < s0:
            raise ValueError(f"Lookback.running_max={self.running_max!r} is below today's spot {s0!r}")
        if self.running_min is not None and self.running_min > s0:
            raise ValueError(f"Lookback.running_min={self.running_min!r} is above today's spot {s0!r}")
        hi = math.log(self.running_max / s0) if self.running_max is not None else 0.0
        lo = math.log(self.running_min / s0) if self.running_min is not None else 0.0
        return hi, lo

    def kernel_params(self, n_steps: int, dtype: np.dtype, *, spot: np.ndarray, rate: float) -> tuple:
        """``(strike, sign, floating, log max, log min, continuous, every, 1/2, 1/sqrt(2))``."""
        hi, lo = self._extremes(float(np.atleast_1d(spot)[0]))
        every = self.every(n_steps)
        f = cast_params((self.strike or 0.0, sign_of(self.kind)), dtype)
        g = cast_params((hi, lo), dtype)
        c = cast_params((0.5, 1.0 / math.sqrt(2.0)), dtype)
        return (*f, self.strike is None, *g, self.monitoring == "continuous", np.int64(every), *c)

    def payoff_paths(
        self,
        paths: np.ndarray,
        times: np.ndarray,
        xp: ModuleType = np,
        *,
        var: np.ndarray | None = None,
        w: np.ndarray | None = None,
        spot: float | None = None,
        **_: object,
    ) -> np.ndarray:
        """Undiscounted payoff per path; ``paths`` ``(n_paths, n_steps + 1)``, ``var`` and ``w``
        ``(n_paths, n_steps)`` (continuous monitoring: the steps' log variances and extra normals);
        ``spot`` today's spot in float64 (default: the paths' first point)."""
        from scipy.special import erfc

        n_steps = paths.shape[1] - 1
        s0 = paths[:, 0]
        strike, sign, floating, hi0, lo0, continuous, every, half, inv_sqrt2 = self.kernel_params(
            n_steps, paths.dtype, spot=np.array([float(paths[0, 0]) if spot is None else spot]), rate=0.0
        )
        x = xp.log(paths / paths[:, :1])
        hi = xp.maximum(x[:, 0], hi0)
        lo = xp.minimum(x[:, 0], lo0)
        for i in range(n_steps):
            if continuous:
                u = half * erfc(-w[:, i] * inv_sqrt2).astype(paths.dtype)
                dx = x[:, i + 1] - x[:, i]
                r = xp.sqrt(dx * dx - (var[:, i] + var[:, i]) * xp.log(u))
                hi = xp.maximum(hi, half * (x[:, i] + x[:, i + 1] + r))
                lo = xp.minimum(lo, half * (x[:, i] + x[:, i + 1] - r))
            elif (i + 1) % every == 0:
                hi = xp.maximum(hi, x[:, i + 1])
                lo = xp.minimum(lo, x[:, i + 1])
        zero = paths.dtype.type(0.0)
        if floating:
            out = paths[:, -1] - s0 * xp.exp(lo) if sign > 0 else s0 * xp.exp(hi) - paths[:, -1]
        else:
            out = xp.maximum(s0 * xp.exp(hi) - strike, zero) if sign > 0 else xp.maximum(strike - s0 * xp.exp(lo), zero)
        return out.astype(paths.dtype)
