"""Single-barrier European options: up/down, in/out, rebates, discrete or continuous monitoring; seasoned."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numba import njit

from riskgpu._checks import choice, finite
from riskgpu.products.base import (
    Monitored,
    cast_params,
    check_monitoring,
    check_seasoned_flag,
    check_terms,
    sign_of,
)

DIRECTIONS = ("up", "down")
KNOCKS = ("in", "out")


@njit(inline="always")
def _init(x0, pp):  # pragma: no cover - compiled
    hlog, updown, knock_out, knocked = pp[2], pp[3], pp[4], pp[10]
    zero = x0 - x0
    one = updown * updown
    if knocked:
        return (zero, zero, one)
    if updown * (x0 - hlog) >= zero:  # beyond the barrier today: hit now, a knock-out rebate is paid now
        return (zero, one if knock_out else zero, one)
    return (one, zero, one)


@njit(inline="always")
def _observe(acc, i, x_prev, x, var, w, pp):  # pragma: no cover - compiled
    hlog, updown, every, continuous, edt = pp[2], pp[3], pp[6], pp[7], pp[8]
    surv, reb, df = acc
    zero = x - x
    one = updown * updown
    df = df * edt
    beyond = updown * (x - hlog) >= zero
    p = zero
    if continuous:
        d_prev = updown * (hlog - x_prev)
        d_now = updown * (hlog - x)
        if beyond or d_prev <= zero:
            p = one
        elif var > zero:
            p = math.exp(-((d_prev + d_prev) * d_now) / var)
    elif beyond and (i + 1) % every == 0:
        p = one
    hit = surv * p
    return (surv - hit, reb + hit * df, df)


@njit(inline="always")
def _finish(acc, x, s0, pp):  # pragma: no cover - compiled
    strike, sign, updown, knock_out, rebate, growth = pp[0], pp[1], pp[3], pp[4], pp[5], pp[9]
    surv, reb = acc[0], acc[1]
    vanilla = max(sign * (s0 * math.exp(x) - strike), strike - strike)
    if knock_out:
        return surv * vanilla + rebate * reb * growth
    return (updown * updown - surv) * vanilla + rebate * surv


@dataclass(frozen=True, kw_only=True)
class Barrier(Monitored):
    """Knock-in or knock-out call/put with one barrier.

    ``direction="up"``: hit when ``S >= barrier``; ``"down"``: when ``S <= barrier``. Knock-out pays the
    vanilla payoff if never hit and ``rebate`` at the hit; knock-in pays the vanilla payoff if hit and
    ``rebate`` at expiry otherwise (QuantLib's convention). A spot already at or beyond the barrier
    today counts as a hit now.

    ``monitoring="discrete"``: checked at ``maturity * i / n_fixings``, ``i = 1..n_fixings``
    (``n_steps`` a multiple of ``n_fixings``). ``"continuous"``: each path is weighted by its
    Brownian-bridge survival probability between steps, ``prod(1 - exp(-2 d_prev d_now / var))``
    (``d`` the log distances to the barrier, ``var`` the step's log variance): smooth, no extra draws,
    exact under GBM at any number of steps; the hit time of a continuous rebate is taken at the end of
    its step. ``knocked=True``: the barrier was already hit (seasoned; a knock-out's rebate is then
    history and its value 0; a knock-in is a vanilla).

    Oracles: Reiner-Rubinstein (``riskgpu.analytic.barrier_price``) for continuous monitoring and its
    Broadie-Glasserman-Kou shift for discrete; the reference backend on the same normals.
    """

    strike: float
    maturity: float
    kind: str = "call"
    barrier: float
    direction: str = "up"
    knock: str = "out"
    rebate: float = 0.0
    monitoring: str = "continuous"
    n_fixings: int | None = None
    knocked: bool = False

    n_assets = 1
    slots = 0

    def __post_init__(self) -> None:
        s, t, k = check_terms("Barrier", self.strike, self.maturity, self.kind)
        object.__setattr__(self, "strike", s)
        object.__setattr__(self, "maturity", t)
        object.__setattr__(self, "kind", k)
        object.__setattr__(self, "barrier", finite("Barrier", "barrier", self.barrier, min_value=0.0, strict=True))
        object.__setattr__(self, "direction", choice("Barrier", "direction", self.direction, DIRECTIONS))
        object.__setattr__(self, "knock", choice("Barrier", "knock", self.knock, KNOCKS))
        object.__setattr__(self, "rebate", finite("Barrier", "rebate", self.rebate, min_value=0.0))
        monitoring, n_fixings = check_monitoring("Barrier", self.monitoring, self.n_fixings)
        object.__setattr__(self, "monitoring", monitoring)
        object.__setattr__(self, "n_fixings", n_fixings)
        object.__setattr__(self, "knocked", check_seasoned_flag("Barrier", "knocked", self.knocked))

    @property
    def accumulator(self) -> tuple:
        """``(init, observe, finish)``: state ``(survival weight, discounted rebate weight, discount)``."""
        return _init, _observe, _finish

    def kernel_params(self, n_steps: int, dtype: np.dtype, *, spot: np.ndarray, rate: float) -> tuple:
        """``(strike, sign, log(barrier/spot), updown, knock_out, rebate, every, continuous, exp(-r dt),
        exp(r T), knocked)``."""
        s0 = float(np.atleast_1d(spot)[0])
        dt = self.maturity / n_steps
        f = cast_params(
            (self.strike, sign_of(self.kind), math.log(self.barrier / s0), 1.0 if self.direction == "up" else -1.0),
            dtype,
        )
        g = cast_params((math.exp(-rate * dt), math.exp(rate * self.maturity)), dtype)
        return (
            *f,
            self.knock == "out",
            dtype.type(self.rebate),
            np.int64(self.every(n_steps)),
            self.monitoring == "continuous",
            *g,
            self.knocked,
        )

    def payoff_paths(
        self,
        paths: np.ndarray,
        times: np.ndarray,
        xp: ModuleType = np,
        *,
        var: np.ndarray | None = None,
        rate: float = 0.0,
        spot: float | None = None,
        **_: object,
    ) -> np.ndarray:
        """Undiscounted payoff per path (rebates compounded to expiry); ``paths`` ``(n_paths, n_steps + 1)``,
        ``var`` ``(n_paths, n_steps)`` the steps' log variances (continuous monitoring), ``spot`` today's
        spot in float64 (default: the paths' first point)."""
        n_steps = paths.shape[1] - 1
        s0 = float(paths[0, 0]) if spot is None else spot
        pp = self.kernel_params(n_steps, paths.dtype, spot=np.array([s0]), rate=rate)
        strike, sign, hlog, updown, knock_out, rebate, every, continuous, edt, growth, _ = pp
        d = paths.dtype.type
        x = xp.log(paths / paths[:, :1])
        n = paths.shape[0]
        zero, one = d(0.0), d(1.0)
        if self.knocked:
            surv, reb = xp.zeros(n, paths.dtype), xp.zeros(n, paths.dtype)
        elif updown * (x[0, 0] - hlog) >= zero:
            surv, reb = xp.zeros(n, paths.dtype), xp.full(n, one if knock_out else zero, paths.dtype)
        else:
            surv, reb = xp.ones(n, paths.dtype), xp.zeros(n, paths.dtype)
        df = one
        for i in range(n_steps):
            df = df * edt
            beyond = updown * (x[:, i + 1] - hlog) >= zero
            if continuous:
                d_prev = updown * (hlog - x[:, i])
                d_now = updown * (hlog - x[:, i + 1])
                with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                    bridge = xp.where(var[:, i] > zero, xp.exp(-((d_prev + d_prev) * d_now) / var[:, i]), zero)
                p = xp.where(beyond | (d_prev <= zero), one, bridge)
            else:
                p = xp.where(beyond & ((i + 1) % every == 0), one, zero)
            hit = surv * p
            surv = surv - hit
            reb = reb + hit * df
        vanilla = xp.maximum(sign * (paths[:, -1] - strike), zero)
        if knock_out:
            out = surv * vanilla + rebate * reb * growth
        else:
            out = (one - surv) * vanilla + rebate * surv
        return out.astype(paths.dtype)
