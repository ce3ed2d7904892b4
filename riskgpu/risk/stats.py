"""Loss statistics shared by every VaR method: empirical VaR/ES (DESIGN.md section 2), their confidence
intervals, normal and Cornish-Fisher quantiles.

Conventions: VaR and ES are positive loss numbers. Over ``N`` scenario P&Ls the losses are ``-pnl``;
VaR at confidence ``a`` is the ``k``-th smallest loss with ``k = ceil(a N)`` (``a`` taken as the exact
decimal it is written as, so ``0.99 * 1000`` is 990, not 991); ES is the mean of the losses ``>= VaR``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from scipy import stats as _st
from scipy.special import ndtri


def check_confidence(owner: str, value: object) -> float:
    """A confidence level in (0, 1); anything else (bools, strings, 99 for 99%) names the argument."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
        raise ValueError(f"{owner} must be a number in (0, 1), got {value!r}")
    a = float(str(value))  # the shortest decimal of its own precision: a float32 0.99 is 0.99, not 0.9900000095
    if not 0.0 < a < 1.0:
        raise ValueError(f"{owner} must be in (0, 1) (0.99 for 99%), got {value!r}")
    return a


def rank(confidence: float, n: int) -> int:
    """``k = ceil(confidence * n)`` in exact decimal arithmetic, at least 1."""
    return max(1, math.ceil(Fraction(repr(float(confidence))) * n))


def book_totals(per_position: np.ndarray) -> np.ndarray:
    """Exactly rounded (``math.fsum``) row sums of ``(n_scen, n_pos)`` P&L: independent of the column order."""
    return np.array([math.fsum(row) for row in np.asarray(per_position, dtype=np.float64).tolist()])


def empirical_var_es(losses: np.ndarray, confidence: float) -> tuple[float, float]:
    """``(VaR, ES)`` of the loss sample ``losses`` ``(N,)`` at ``confidence``.

    Oracle in the tests: the order statistic computed independently with ``numpy.sort``.
    """
    x = np.sort(np.asarray(losses, dtype=np.float64))
    if x.size == 0:
        raise ValueError("VaR needs at least one scenario")
    var = float(x[rank(confidence, x.size) - 1])
    tail = x[x >= var]
    return var, float(math.fsum(tail.tolist()) / tail.size)


def var_interval(losses: np.ndarray, confidence: float, level: float = 0.95) -> tuple[float, float]:
    """Distribution-free ``level`` interval for the ``confidence`` loss quantile from order statistics.

    The number of losses below the true quantile is Binomial(N, confidence); the interval runs between the
    order statistics at that distribution's ``(1 -+ level) / 2`` quantiles (clipped to the sample).
    """
    x = np.sort(np.asarray(losses, dtype=np.float64))
    n = x.size
    lo = int(_st.binom.ppf((1.0 - level) / 2.0, n, confidence))
    hi = int(_st.binom.ppf((1.0 + level) / 2.0, n, confidence)) + 1
    return float(x[min(max(lo, 1), n) - 1]), float(x[min(max(hi, 1), n) - 1])


def es_interval(losses: np.ndarray, confidence: float, level: float = 0.95) -> tuple[float, float]:
    """Asymptotic normal ``level`` interval for ES: standard error
    ``sqrt((Var(L | L >= VaR) + confidence (ES - VaR)**2) / (N (1 - confidence)))`` (the tail-mean estimator's
    asymptotic variance, e.g. Manistre and Hancock 2005)."""
    x = np.asarray(losses, dtype=np.float64)
    var, es = empirical_var_es(x, confidence)
    tail = x[x >= var]
    spread = float(np.var(tail)) if tail.size > 1 else 0.0
    se = math.sqrt((spread + confidence * (es - var) ** 2) / (x.size * (1.0 - confidence)))
    z = float(ndtri(0.5 + level / 2.0))
    return es - z * se, es + z * se


def normal_var_es(mean: float, sd: float, confidence: float) -> tuple[float, float]:
    """VaR and ES of a normal P&L with ``mean`` and standard deviation ``sd``: ``z sd - mean`` and
    ``sd phi(z) / (1 - a) - mean``."""
    z = float(ndtri(confidence))
    return z * sd - mean, sd * math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi) / (1.0 - confidence) - mean


def cornish_fisher(z: float | np.ndarray, skew: float, excess_kurtosis: float) -> float | np.ndarray:
    """Cornish-Fisher expansion of the standard quantile ``z`` to fourth moments:
    ``z + (z^2 - 1) s / 6 + (z^3 - 3 z) k / 24 - (2 z^3 - 5 z) s^2 / 36``."""
    s, k = skew, excess_kurtosis
    return z + (z * z - 1.0) * s / 6.0 + (z**3 - 3.0 * z) * k / 24.0 - (2.0 * z**3 - 5.0 * z) * s * s / 36.0


def cf_valid(cumulants: tuple[float, float, float, float], confidence: float) -> bool:
    """True when the Cornish-Fisher expansion is increasing in ``z`` over the loss tail ``z <= N^{-1}(1 - a)``
    (checked on a grid from -12; beyond it the probability is below 1e-32): only then is it a quantile
    function, and VaR and ES from it meaningful (ES >= VaR)."""
    _, k2, k3, k4 = cumulants
    if k2 <= 0 or (k3 == 0.0 and k4 == 0.0):
        return True
    s, k = k3 / k2**1.5, k4 / k2**2
    z = np.linspace(-12.0, float(ndtri(1.0 - confidence)), 4001)
    slope = 1.0 + z * s / 3.0 + (3.0 * z * z - 3.0) * k / 24.0 - (6.0 * z * z - 5.0) * s * s / 36.0
    return bool(np.all(slope > 0.0))


def cf_var_es(cumulants: tuple[float, float, float, float], confidence: float) -> tuple[float, float]:
    """VaR and ES of a P&L with cumulants ``(k1, k2, k3, k4)`` by Cornish-Fisher.

    VaR is minus the P&L's ``1 - a`` quantile ``k1 + sqrt(k2) cf(z_t)``, ``z_t = N^{-1}(1 - a)``; ES is the
    mean of that quantile function over the tail, in closed form: with ``Z`` standard normal,
    ``E[cf(Z); Z < z_t]`` is a combination of ``I_n = E[Z^n; Z < z_t]`` (``I_0 = 1 - a``,
    ``I_1 = -phi``, ``I_2 = I_0 - z_t phi``, ``I_3 = -(z_t^2 + 2) phi``). With ``k3 = k4 = 0`` both equal
    ``normal_var_es``; the tests check ES against adaptive quadrature of the quantile function.
    """
    k1, k2, k3, k4 = cumulants
    if k2 <= 0:
        return -k1, -k1
    sd = math.sqrt(k2)
    if k3 == 0.0 and k4 == 0.0:
        return normal_var_es(k1, sd, confidence)
    s, k = k3 / k2**1.5, k4 / k2**2
    tail = 1.0 - confidence
    t = float(ndtri(tail))
    pdf = math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
    i0, i1, i2, i3 = tail, -pdf, tail - t * pdf, -(t * t + 2.0) * pdf
    tail_mean = i1 + (i2 - i0) * s / 6.0 + (i3 - 3.0 * i1) * k / 24.0 - (2.0 * i3 - 5.0 * i1) * s * s / 36.0
    var = -(k1 + sd * float(cornish_fisher(t, s, k)))
    return var, -(k1 + sd * tail_mean / tail)
