"""American and Bermudan options on one asset, priced by Longstaff-Schwartz (``riskgpu.lsm``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from types import ModuleType

import numpy as np

from riskgpu._checks import choice, finite, positive_int
from riskgpu.products.base import check_terms, sign_of

#: Exercise dates of a plain American (no ``exercise_dates``, no ``n_exercise``): today and ``T i / 50``.
AMERICAN_DATES = 50
#: Most simulation steps an exercise grid may need (dates must lie on ``T i / n`` with ``n`` at most this).
MAX_GRID = 10_000
#: Polynomial bases of the regression (all span the same polynomials of ``degree``; see ``riskgpu.lsm.basis``).
BASES = ("laguerre", "hermite", "power")
MAX_DEGREE = 8


def _grid_of(dates: tuple[float, ...], maturity: float) -> int:
    """The smallest ``n`` with every date on ``maturity * i / n`` (within 1e-9 of the maturity)."""
    n = 1
    for i, d in enumerate(dates):
        f = Fraction(d / maturity).limit_denominator(MAX_GRID)
        if abs(float(f) - d / maturity) > 1e-9:
            raise ValueError(
                f"American.exercise_dates[{i}]={d!r} is not on a uniform grid maturity * i / n with n <= {MAX_GRID}"
            )
        n = math.lcm(n, f.denominator)
        if n > MAX_GRID:
            raise ValueError(
                f"American.exercise_dates need a simulation grid of {n} steps (> {MAX_GRID}); "
                f"use dates on a coarser uniform grid, got {dates!r}"
            )
    return n


@dataclass(frozen=True, kw_only=True)
class American:
    """American or Bermudan call or put on one asset, exercise value ``max(sign * (S_t - strike), 0)``.

    Parameters
    ----------
    exercise_dates : a Bermudan with these exercise times in years, strictly increasing in
        ``(0, maturity]``, the last one ``maturity``. They must lie on a uniform grid ``maturity * i / n``
        (``n <= 10000``), which becomes the simulation grid.
    n_exercise : a Bermudan exercisable at ``maturity * i / n_exercise``, ``i = 1..n_exercise``.
        ``n_exercise=1`` is the European.
    degree, basis : the Longstaff-Schwartz regression: polynomials of ``S / strike`` up to ``degree``
        (1..8), ``"laguerre"`` (default), ``"hermite"`` or ``"power"``.

    With neither ``exercise_dates`` nor ``n_exercise`` the option is American, approximated by exercise
    today and at ``maturity * i / 50``, ``i = 1..50`` (the bias of this grid against continuous exercise,
    measured on the binomial tree, is in the README). Oracle: the CRR tree
    ``riskgpu.analytic.binomial_price`` with the same exercise dates.
    """

    strike: float
    maturity: float
    kind: str = "put"
    exercise_dates: tuple[float, ...] | None = None
    n_exercise: int | None = None
    degree: int = 3
    basis: str = "laguerre"

    n_assets = 1
    slots = 0
    lsm = True

    def __post_init__(self) -> None:
        s, t, k = check_terms("American", self.strike, self.maturity, self.kind)
        object.__setattr__(self, "strike", s)
        object.__setattr__(self, "maturity", t)
        object.__setattr__(self, "kind", k)
        object.__setattr__(self, "degree", positive_int("American", "degree", self.degree))
        if self.degree > MAX_DEGREE:
            raise ValueError(f"American.degree must be an integer in [1, {MAX_DEGREE}], got {self.degree!r}")
        object.__setattr__(self, "basis", choice("American", "basis", self.basis, BASES))
        if self.exercise_dates is not None and self.n_exercise is not None:
            raise ValueError(
                f"American: give exercise_dates or n_exercise, not both "
                f"(got exercise_dates={self.exercise_dates!r}, n_exercise={self.n_exercise!r})"
            )
        if self.n_exercise is not None:
            n = positive_int("American", "n_exercise", self.n_exercise)
            if n > MAX_GRID:
                raise ValueError(f"American.n_exercise must be an integer in [1, {MAX_GRID}], got {n!r}")
            object.__setattr__(self, "n_exercise", n)
        if self.exercise_dates is not None:
            object.__setattr__(self, "exercise_dates", self._check_dates(self.exercise_dates))

    def _check_dates(self, dates: object) -> tuple[float, ...]:
        if isinstance(dates, (str, bytes)) or not hasattr(dates, "__len__") or len(dates) == 0:
            raise ValueError(f"American.exercise_dates must be a non-empty sequence of times, got {dates!r}")
        if self.maturity == 0.0:
            raise ValueError(f"American.exercise_dates needs maturity > 0, got maturity={self.maturity!r}")
        out = [finite("American", f"exercise_dates[{i}]", d, min_value=0.0, strict=True) for i, d in enumerate(dates)]
        for i in range(1, len(out)):
            if not out[i] > out[i - 1]:
                raise ValueError(
                    f"American.exercise_dates must be strictly increasing: "
                    f"exercise_dates[{i}]={out[i]!r} after {out[i - 1]!r}"
                )
        if abs(out[-1] - self.maturity) > 1e-12 * max(1.0, self.maturity):
            raise ValueError(
                f"American.exercise_dates must end at maturity={self.maturity!r}, got last date {out[-1]!r}"
            )
        out[-1] = self.maturity
        _grid_of(tuple(out), self.maturity)
        return tuple(out)

    # ----------------------------------------------------------------- exercise grid
    @property
    def exercise_today(self) -> bool:
        """True for a plain American (exercisable today as well); False for a Bermudan."""
        return self.exercise_dates is None and self.n_exercise is None

    def exercise_times(self) -> tuple[float, ...]:
        """Exercise times after today, increasing, the last one ``maturity`` (``(n_dates,)``)."""
        if self.exercise_dates is not None:
            return self.exercise_dates
        n = AMERICAN_DATES if self.n_exercise is None else self.n_exercise
        if self.maturity == 0.0:
            return (0.0,)
        return tuple(self.maturity * i / n for i in range(1, n + 1))

    def default_steps(self) -> int:
        """Simulation steps when ``n_steps`` is not given: the exercise grid itself."""
        if self.maturity == 0.0:
            return 1
        if self.exercise_dates is not None:
            return _grid_of(self.exercise_dates, self.maturity)
        return AMERICAN_DATES if self.n_exercise is None else self.n_exercise

    def check_steps(self, n_steps: int) -> None:
        """``n_steps`` must be a multiple of ``default_steps()`` (every exercise date on the grid)."""
        base = self.default_steps()
        if self.maturity > 0.0 and n_steps % base:
            raise ValueError(f"n_steps must be a multiple of {base} (the American exercise grid), got {n_steps}")

    def exercise_steps(self, n_steps: int) -> np.ndarray:
        """Indices ``(n_dates,)`` of the exercise dates on the simulation grid ``maturity * i / n_steps``."""
        self.check_steps(n_steps)
        if self.maturity == 0.0:
            return np.array([n_steps], dtype=np.int64)
        base = self.default_steps()
        every = n_steps // base
        if self.exercise_dates is None:
            return every * np.arange(1, base + 1, dtype=np.int64)
        return np.array([every * round(d / self.maturity * base) for d in self.exercise_dates], dtype=np.int64)

    def intrinsic(self, spot: object, xp: ModuleType = np) -> object:
        """Exercise value ``max(sign * (S - strike), 0)`` in float64, any shape."""
        s = xp.asarray(spot, dtype=xp.float64)
        return xp.maximum(sign_of(self.kind) * (s - self.strike), 0.0)

    def scale(self, spot: float) -> float:
        """The regression's unit of spot: the strike (today's spot, or 1, when the strike is 0)."""
        if self.strike > 0.0:
            return self.strike
        return float(spot) if spot > 0.0 else 1.0
