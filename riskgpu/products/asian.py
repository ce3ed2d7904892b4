"""Fixed-strike Asian options, arithmetic or geometric average, on one asset; seasoned; optional knock-out."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType

import numpy as np
from numba import njit, uint32

from riskgpu._checks import choice, finite, positive_int
from riskgpu.products.base import cast_params, check_seasoned_flag, check_terms, fixing_every, sign_of

AVERAGES = ("arithmetic", "geometric")
DIRECTIONS = ("up", "down")


@njit(inline="always")
def _init(x0, pp):  # pragma: no cover - compiled
    hlog, updown, has_barrier, knocked = pp[5], pp[6], pp[8], pp[9]
    zero = x0 - x0
    one = updown * updown
    dead = knocked or (has_barrier and updown * (x0 - hlog) >= zero)
    return (zero, zero if dead else one, uint32(pp[3]))


@njit(inline="always")
def _observe(acc, i, x_prev, x, var, w, pp):  # pragma: no cover - compiled
    # ``left`` counts the steps to the next fixing (a uint32 countdown: no integer division per step)
    every, geometric, hlog, updown, has_barrier = pp[3], pp[4], pp[5], pp[6], pp[8]
    total, alive, left = acc
    # at or beyond the barrier: updown * x >= updown * hlog is exactly updown * (x - hlog) >= 0 (updown is
    # +-1), with the right side loop-invariant
    if has_barrier and updown * x >= updown * hlog:
        alive = hlog - hlog
    left = uint32(left - uint32(1))
    if left == uint32(0):
        total = total + (x if geometric else math.exp(x))
        left = uint32(every)
    return (total, alive, left)


@njit(inline="always")
def _finish(acc, x, s0, pp):  # pragma: no cover - compiled
    strike, sign, n_total, geometric, past = pp[0], pp[1], pp[2], pp[4], pp[7]
    if geometric:
        avg = s0 * math.exp((past + acc[0]) / n_total)
    else:
        avg = (past + s0 * acc[0]) / n_total
    return max(sign * (avg - strike), strike - strike) * acc[1]


@dataclass(frozen=True, kw_only=True)
class Asian:
    """Fixed-strike Asian: payoff ``max(sign * (A - strike), 0)``, A the average of the fixings.

    Fixings at ``maturity * i / n_fixings``, ``i = 1..n_fixings`` (today's spot is not a fixing);
    ``n_steps`` must be a multiple of ``n_fixings``. ``average`` is ``"arithmetic"`` or ``"geometric"``.

    Seasoned state: ``past_fixings`` fixings already observed with average ``past_average``
    (geometric mean for ``average="geometric"``); the average then runs over
    ``past_fixings + n_fixings`` fixings, ``n_fixings`` of them still to come.

    ``barrier`` (optional) makes it a knock-out Asian: the option dies when the spot is at or beyond
    the barrier (``direction="down"``: ``S <= barrier``; ``"up"``: ``S >= barrier``) at any simulation
    step or today; no rebate. ``knocked=True`` says it has already died. This is NVIDIA's Asian
    down-and-out benchmark product.

    Oracles: the discrete geometric closed form (``riskgpu.analytic.geometric_asian_price``), QuantLib's
    Monte Carlo engine for the arithmetic average, the reference backend for the barrier.
    """

    strike: float
    maturity: float
    kind: str = "call"
    n_fixings: int = 12
    average: str = "arithmetic"
    past_average: float = 0.0
    past_fixings: int = 0
    barrier: float | None = None
    direction: str = "down"
    knocked: bool = False

    n_assets = 1
    slots = 0

    def __post_init__(self) -> None:
        s, t, k = check_terms("Asian", self.strike, self.maturity, self.kind)
        object.__setattr__(self, "strike", s)
        object.__setattr__(self, "maturity", t)
        object.__setattr__(self, "kind", k)
        object.__setattr__(self, "n_fixings", positive_int("Asian", "n_fixings", self.n_fixings))
        object.__setattr__(self, "average", choice("Asian", "average", self.average, AVERAGES))
        pf = positive_int("Asian", "past_fixings", self.past_fixings, min_value=0)
        object.__setattr__(self, "past_fixings", pf)
        pa = finite("Asian", "past_average", self.past_average, min_value=0.0, strict=pf > 0)
        if pf == 0 and pa != 0.0:
            raise ValueError(f"Asian.past_average={self.past_average!r} is given but Asian.past_fixings is 0")
        object.__setattr__(self, "past_average", pa)
        if self.barrier is not None:
            object.__setattr__(self, "barrier", finite("Asian", "barrier", self.barrier, min_value=0.0, strict=True))
        object.__setattr__(self, "direction", choice("Asian", "direction", self.direction, DIRECTIONS))
        if self.barrier is None and self.direction != "down":
            raise ValueError(f"Asian.direction={self.direction!r} needs a barrier")
        knocked = check_seasoned_flag("Asian", "knocked", self.knocked)
        if knocked and self.barrier is None:
            raise ValueError("Asian.knocked=True needs a barrier")
        object.__setattr__(self, "knocked", knocked)

    @property
    def accumulator(self) -> tuple:
        """``(init, observe, finish)``: state ``(running sum, alive, steps to the next fixing)``."""
        return _init, _observe, _finish

    def default_steps(self) -> int:
        """One step per fixing."""
        return self.n_fixings

    def check_steps(self, n_steps: int) -> None:
        """``n_steps`` must be a multiple of ``n_fixings``."""
        fixing_every("Asian", n_steps, self.n_fixings)

    def _past(self, spot: float) -> float:
        if self.past_fixings == 0:
            return 0.0
        if self.average == "geometric":
            return self.past_fixings * math.log(self.past_average / spot)
        return self.past_fixings * self.past_average

    def kernel_params(self, n_steps: int, dtype: np.dtype, *, spot: np.ndarray, rate: float) -> tuple:
        """``(strike, sign, n_total, every, geometric, log(barrier/spot), updown, past, has_barrier, knocked)``."""
        s0 = float(np.atleast_1d(spot)[0])
        hlog = math.log(self.barrier / s0) if self.barrier is not None else 0.0
        updown = 1.0 if self.direction == "up" else -1.0
        n_total = float(self.n_fixings + self.past_fixings)
        f = cast_params((self.strike, sign_of(self.kind), n_total), dtype)
        g = cast_params((hlog, updown, self._past(s0)), dtype)
        every = np.int64(fixing_every("Asian", n_steps, self.n_fixings))
        return (*f, every, self.average == "geometric", *g, self.barrier is not None, self.knocked)

    def fixing_columns(self, n_steps: int) -> np.ndarray:
        """Indices of the fixing dates in a path of ``n_steps + 1`` points."""
        every = fixing_every("Asian", n_steps, self.n_fixings)
        return every * np.arange(1, self.n_fixings + 1)

    def payoff_paths(
        self, paths: np.ndarray, times: np.ndarray, xp: ModuleType = np, *, spot: float | None = None, **_: object
    ) -> np.ndarray:
        """Undiscounted payoff per path; ``paths`` is ``(n_paths, n_steps + 1)``, ``spot`` today's spot in
        float64 (default: the paths' first point)."""
        d = paths.dtype.type
        s0 = paths[:, :1]
        spot = float(s0[0, 0]) if spot is None else spot
        fix = paths[:, self.fixing_columns(paths.shape[1] - 1)]
        n_total = d(self.n_fixings + self.past_fixings)
        past = d(self._past(spot))
        if self.average == "geometric":
            avg = s0[:, 0] * xp.exp((past + xp.log(fix / s0).sum(axis=1)) / n_total)
        else:
            avg = (past + fix.sum(axis=1)) / n_total
        value = xp.maximum(d(sign_of(self.kind)) * (avg - d(self.strike)), d(0.0))
        if self.barrier is not None:
            x = xp.log(paths / s0)
            hlog = d(math.log(self.barrier / spot))
            beyond = (x - hlog >= 0) if self.direction == "up" else (x - hlog <= 0)
            value = xp.where(beyond.any(axis=1) | self.knocked, d(0.0), value)
        return value.astype(paths.dtype)
