"""VaR backtesting: ``rg.backtest(var_forecasts, pnl, *, confidence)``.

Conventions: VaR forecasts are positive loss numbers, P&L is signed and aligned day by day with them. Day
``t`` is an exception when the loss exceeds the forecast strictly, ``-pnl[t] > var_forecasts[t]``. With ``n``
days, ``x`` exceptions and ``p = 1 - confidence`` (the exact decimal ``confidence`` is written as, so
``1 - 0.99`` is 0.01):

* Kupiec's proportion-of-failures test: ``LR_pof = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x]``,
  chi-squared with 1 degree of freedom.
* Christoffersen's independence test on the ``n - 1`` day-to-day transitions ``n_ij`` (state ``i`` followed
  by ``j``, 1 = exception): ``LR_ind = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)]
  + 2 ln[(1-pi01)^n00 pi01^n01 (1-pi11)^n10 pi11^n11]``, chi-squared with 1 degree of freedom.
* Conditional coverage: ``LR_cc = LR_pof + LR_ind``, chi-squared with 2 degrees of freedom.
* Basel traffic light: with ``X ~ Binomial(n, p)``, green while ``P(X <= x) < 95%``, yellow while
  ``< 99.99%``, red otherwise (250 days at 99%: 0-4 green, 5-9 yellow, 10+ red).

Every ``k ln(y)`` term is ``scipy.special.xlogy`` (``0 ln 0 = 0``); a ratio with an empty denominator (no
transitions out of a state) contributes nothing. Rounding can leave a likelihood ratio a hair below zero;
it is reported as 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import stats as _st
from scipy.special import xlogy

from riskgpu.risk.stats import check_confidence

#: Basel traffic-light thresholds on the cumulative binomial probability of the exception count.
GREEN_BELOW = 0.95
YELLOW_BELOW = 0.9999
#: Cumulative probabilities this close to a threshold are decided in exact rational arithmetic.
_TIE_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """The outcome of a VaR backtest.

    Attributes
    ----------
    n : int
        Number of days.
    exceptions : int
        Number of days whose loss exceeded the VaR forecast (``-pnl > var``).
    exception_rate : float
        ``exceptions / n``.
    expected : float
        Expected number of exceptions under correct coverage, ``n * (1 - confidence)``.
    kupiec_lr, kupiec_pvalue : float
        Kupiec proportion-of-failures likelihood ratio and its chi-squared(1) p-value.
    christoffersen_lr, christoffersen_pvalue : float
        Christoffersen independence likelihood ratio and its chi-squared(1) p-value.
    cc_lr, cc_pvalue : float
        Conditional-coverage likelihood ratio ``kupiec_lr + christoffersen_lr`` and its chi-squared(2) p-value.
    traffic_light : str
        Basel zone: ``"green"``, ``"yellow"`` or ``"red"``.
    confidence : float
        The VaR confidence level the forecasts were made at.
    exception_days : numpy.ndarray
        Indices (int64, ascending) of the exception days.
    """

    n: int
    exceptions: int
    exception_rate: float
    expected: float
    kupiec_lr: float
    kupiec_pvalue: float
    christoffersen_lr: float
    christoffersen_pvalue: float
    cc_lr: float
    cc_pvalue: float
    traffic_light: str
    confidence: float
    exception_days: np.ndarray

    def summary(self) -> dict:
        """The figures as a plain dict of Python scalars and lists (JSON-ready)."""
        return {
            "n": int(self.n),
            "exceptions": int(self.exceptions),
            "exception_rate": float(self.exception_rate),
            "expected": float(self.expected),
            "kupiec_lr": float(self.kupiec_lr),
            "kupiec_pvalue": float(self.kupiec_pvalue),
            "christoffersen_lr": float(self.christoffersen_lr),
            "christoffersen_pvalue": float(self.christoffersen_pvalue),
            "cc_lr": float(self.cc_lr),
            "cc_pvalue": float(self.cc_pvalue),
            "traffic_light": str(self.traffic_light),
            "confidence": float(self.confidence),
            "exception_days": [int(i) for i in self.exception_days],
        }


def backtest(var_forecasts: object, pnl: object, *, confidence: float) -> BacktestResult:
    """Backtest daily VaR forecasts against realised P&L.

    Parameters
    ----------
    var_forecasts : array-like, shape (n,)
        VaR forecasts as positive loss numbers (``>= 0``), one a day: a list, numpy array or polars Series.
    pnl : array-like, shape (n,)
        Realised signed P&L of the same days, aligned with ``var_forecasts``.
    confidence : float
        Confidence level of the forecasts in (0, 1), e.g. 0.99.

    Returns
    -------
    BacktestResult
        Exception count and days, Kupiec, Christoffersen and conditional-coverage tests, Basel traffic light.

    Raises
    ------
    ValueError
        If an input is not a 1-d numeric array of at least one finite value, the lengths differ, a VaR
        forecast is negative, or ``confidence`` is not in (0, 1); the message names the argument and, for
        a bad value, its index and the value.
    """
    a = check_confidence("backtest.confidence", confidence)
    var = _series("var_forecasts", var_forecasts)
    gains = _series("pnl", pnl)
    if var.size != gains.size:
        raise ValueError(f"backtest: var_forecasts and pnl must have the same length, got {var.size} and {gains.size}")
    bad = np.flatnonzero(var < 0.0)
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"backtest.var_forecasts must be >= 0 (a loss), got {float(var[i])!r} at index {i}")

    hits = -gains > var
    n = int(hits.size)
    days = np.flatnonzero(hits).astype(np.int64)
    x = int(days.size)
    p_exact = 1 - Fraction(repr(a))
    p = float(p_exact)

    lr_pof = kupiec_lr(n, x, p)
    lr_ind = christoffersen_lr(hits)
    lr_cc = lr_pof + lr_ind
    return BacktestResult(
        n=n,
        exceptions=x,
        exception_rate=x / n,
        expected=float(n * p_exact),
        kupiec_lr=lr_pof,
        kupiec_pvalue=float(_st.chi2.sf(lr_pof, 1)),
        christoffersen_lr=lr_ind,
        christoffersen_pvalue=float(_st.chi2.sf(lr_ind, 1)),
        cc_lr=lr_cc,
        cc_pvalue=float(_st.chi2.sf(lr_cc, 2)),
        traffic_light=traffic_light(n, x, a),
        confidence=a,
        exception_days=days,
    )


def kupiec_lr(n: int, x: int, p: float) -> float:
    """Kupiec's proportion-of-failures likelihood ratio for ``x`` exceptions in ``n`` days at rate ``p``."""
    null = xlogy(n - x, 1.0 - p) + xlogy(x, p)
    alt = xlogy(n - x, (n - x) / n) + xlogy(x, x / n)
    return max(0.0, float(2.0 * (alt - null)))


def christoffersen_lr(hits: np.ndarray) -> float:
    """Christoffersen's independence likelihood ratio of the 0/1 exception sequence ``hits``."""
    h = np.asarray(hits, dtype=bool)
    prev, curr = h[:-1], h[1:]
    n00 = int(np.count_nonzero(~prev & ~curr))
    n01 = int(np.count_nonzero(~prev & curr))
    n10 = int(np.count_nonzero(prev & ~curr))
    n11 = int(np.count_nonzero(prev & curr))
    alt = _binary_loglik(n00, n01) + _binary_loglik(n10, n11)
    null = _binary_loglik(n00 + n10, n01 + n11)
    return max(0.0, float(2.0 * (alt - null)))


def _binary_loglik(k0: int, k1: int) -> float:
    """Maximised Bernoulli log-likelihood ``k0 ln(k0/m) + k1 ln(k1/m)``, ``m = k0 + k1``; 0 when ``m = 0``."""
    m = k0 + k1
    if m == 0:
        return 0.0
    return float(xlogy(k0, k0 / m) + xlogy(k1, k1 / m))


def traffic_light(n: int, exceptions: int, confidence: float) -> str:
    """Basel zone of ``exceptions`` in ``n`` days at ``confidence``: ``"green"`` while
    ``P(X <= exceptions) < 0.95``, ``"yellow"`` while ``< 0.9999``, else ``"red"``, ``X ~ Binomial(n, 1 - a)``.

    A cumulative probability within ``1e-9`` of a threshold is recomputed exactly (rational arithmetic on the
    decimal ``confidence``), so a tie such as ``P = 0.95`` exactly is yellow whatever the rounding.
    """
    p_exact = 1 - Fraction(repr(float(confidence)))
    cdf = float(_st.binom.cdf(exceptions, n, float(p_exact)))
    if not _below(cdf, GREEN_BELOW, n, exceptions, p_exact):
        return "yellow" if _below(cdf, YELLOW_BELOW, n, exceptions, p_exact) else "red"
    return "green"


def _below(cdf: float, threshold: float, n: int, x: int, p: Fraction) -> bool:
    """``P(X <= x) < threshold``, decided exactly when the float ``cdf`` is too close to call."""
    if abs(cdf - threshold) > _TIE_TOL:
        return cdf < threshold
    return _exact_cdf(n, x, p) < Fraction(repr(threshold))


def _exact_cdf(n: int, x: int, p: Fraction) -> Fraction:
    """``P(X <= x)`` for ``X ~ Binomial(n, p)`` as an exact fraction (summing the shorter tail)."""
    if x >= n:
        return Fraction(1)
    q = 1 - p
    if x < n - x:
        return sum((math.comb(n, k) * p**k * q ** (n - k) for k in range(x + 1)), Fraction(0))
    return 1 - sum((math.comb(n, k) * p**k * q ** (n - k) for k in range(x + 1, n + 1)), Fraction(0))


def _series(name: str, value: object) -> np.ndarray:
    """``value`` as a 1-d float64 array of at least one finite number, or a ValueError naming ``name``."""
    owner = f"backtest.{name}"
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{owner} must be a 1-d array of numbers, got {value!r}")
    if hasattr(value, "to_numpy") and not isinstance(value, np.ndarray):
        value = value.to_numpy()  # polars / pandas Series
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise ValueError(f"{owner} must be a 1-d array of numbers: {exc}") from None
    if raw.ndim != 1:
        raise ValueError(f"{owner} must be 1-d, got an array of shape {raw.shape}")
    if raw.size == 0:
        raise ValueError(f"{owner} must hold at least one day, got an empty array")
    if raw.dtype.kind not in "iuf":
        for i, v in enumerate(raw.tolist()):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"{owner} must hold real numbers, got {v!r} at index {i}")
        if raw.dtype.kind != "O":
            raise ValueError(f"{owner} must hold real numbers, got dtype {raw.dtype}")
    arr = raw.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{owner} must be finite, got {raw[i].item()!r} at index {i}")
    return arr
