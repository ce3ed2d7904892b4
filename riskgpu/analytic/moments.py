"""Exact first two moments of baskets and arithmetic averages under GBM, and lognormal moment matching.

Under correlated GBM ``E[S_i(T)] = F_i = S_i e^{(r - q_i) T}`` and ``E[S_i(T) S_j(T)] = F_i F_j e^{rho_ij vol_i
vol_j T}``; for one asset at two dates ``E[S(t) S(u)] = F(t) F(u) e^{vol**2 min(t, u)}``. A positive sum
``X = sum_i c_i Y_i`` is replaced by the lognormal with the same mean ``m1`` and second moment, i.e. total
variance ``log(m2 / m1**2)`` (Levy 1992; Turnbull-Wakeman for discrete averages), and priced with Black's
formula. The variance is computed as ``log1p(sum_ij a_i a_j expm1(c_ij))`` with ``a_i = c_i E[Y_i] / m1`` (so
``sum a_i a_j = 1``), which has no cancellation as the volatilities go to 0. A one-asset basket is then
exactly Black-Scholes; the Asian approximation is tested against QuantLib's TurnbullWakemanAsianEngine and
the moments against Monte Carlo.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtr

from riskgpu.analytic.black_scholes import _sign


def _black(phi, mean, var, strike, df):
    """Discounted Black price of a lognormal with mean ``mean`` and log-variance ``var``."""
    if strike <= 0:  # the lognormal is positive: the call is certainly exercised, the put never
        return df * (mean - strike) if phi > 0 else 0.0
    if var <= 0:
        return df * max(phi * (mean - strike), 0.0)
    sd = math.sqrt(var)
    d1 = math.log(mean / strike) / sd + 0.5 * sd
    return phi * df * (mean * ndtr(phi * d1) - strike * ndtr(phi * (d1 - sd)))


def _assets(spots, weights, vols, corr, divs):
    """The basket inputs as float arrays: ``(n,)`` spots, weights, vols, divs and the ``(n, n)`` corr."""
    spots, weights, vols = (np.atleast_1d(np.asarray(x, dtype=float)) for x in (spots, weights, vols))
    n = spots.size
    divs = np.broadcast_to(np.asarray(divs, dtype=float), (n,))
    corr = np.broadcast_to(np.asarray(corr, dtype=float), (n, n))
    if weights.shape != (n,) or vols.shape != (n,):
        raise ValueError(f"spots, weights and vols must have the same length, got {n}, {weights.size}, {vols.size}")
    return spots, weights, vols, corr, divs


def _basket(spots, weights, vols, corr, rate, divs, maturity):
    """Per-asset ``w_i F_i``, the matrix ``rho_ij vol_i vol_j T`` and the mean of the basket."""
    spots, weights, vols, corr, divs = _assets(spots, weights, vols, corr, divs)
    wf = weights * spots * np.exp((rate - divs) * maturity)
    cov = corr * np.outer(vols, vols) * maturity
    return wf, cov, float(wf.sum())


def basket_moments(
    *,
    spots: np.ndarray,
    weights: np.ndarray,
    vols: np.ndarray,
    corr: np.ndarray,
    rate: float,
    divs: np.ndarray | float,
    maturity: float,
) -> tuple[float, float]:
    """Exact ``(E[B], E[B**2])`` of ``B = sum_i w_i S_i(T)`` under correlated GBM; tested against Monte Carlo."""
    wf, cov, m1 = _basket(spots, weights, vols, corr, rate, divs, maturity)
    return m1, float(wf @ np.exp(cov) @ wf)


def basket_price_mm(
    *,
    kind: str,
    spots: np.ndarray,
    weights: np.ndarray,
    vols: np.ndarray,
    corr: np.ndarray,
    rate: float,
    divs: np.ndarray | float = 0.0,
    strike: float,
    maturity: float,
) -> float:
    """Basket option by two-moment lognormal matching (Levy / Gentle); one asset is exactly Black-Scholes.

    Needs a positive expected basket (positive weights make the approximation meaningful).
    """
    phi = _sign(kind)
    wf, cov, m1 = _basket(spots, weights, vols, corr, rate, divs, maturity)
    if m1 <= 0:
        raise ValueError(f"the expected basket must be positive for a lognormal fit, got {m1!r}")
    a = wf / m1
    var = math.log1p(float(a @ np.expm1(cov) @ a))
    return float(_black(phi, m1, var, strike, math.exp(-rate * maturity)))


def geometric_basket_price(
    *,
    kind: str,
    spots: np.ndarray,
    weights: np.ndarray,
    vols: np.ndarray,
    corr: np.ndarray,
    rate: float,
    divs: np.ndarray | float = 0.0,
    strike: float,
    maturity: float,
) -> float:
    """Exact price of an option on the geometric basket ``G = prod_i S_i(T)**weights[i]`` under correlated GBM.

    ``log G`` is normal with mean ``sum_i w_i (log S_i + (r - q_i - vol_i**2 / 2) T)`` and variance
    ``T w' (corr * vol vol') w``: Black's formula on the lognormal ``G``. The control variate of arithmetic
    baskets; tested against Black-Scholes (one asset; identical perfectly correlated assets) and Monte Carlo.
    """
    phi = _sign(kind)
    spots, weights, vols, corr, divs = _assets(spots, weights, vols, corr, divs)
    var = float(weights @ (corr * np.outer(vols, vols)) @ weights) * maturity
    log_mean = float(weights @ (np.log(spots) + (rate - divs - 0.5 * vols * vols) * maturity)) + 0.5 * var
    return float(_black(phi, math.exp(log_mean), var, strike, math.exp(-rate * maturity)))


def _average(spot, maturity, vol, rate, div, n_fixings, past_average, past_fixings):
    """Fixing forwards ``F_i``, the future part's ``sum_ij a_i a_j expm1(vol**2 min(t_i, t_j))`` and the
    past sum ``past_fixings * past_average``."""
    n = int(n_fixings)
    if n < 1 or past_fixings < 0:
        raise ValueError(f"need n_fixings >= 1 and past_fixings >= 0, got {n_fixings!r}, {past_fixings!r}")
    t = maturity * np.arange(1, n + 1) / n
    fwd = spot * np.exp((rate - div) * t)
    a = fwd / fwd.sum()
    # sum_ij a_i a_j e(min(t_i, t_j)) = sum_i a_i e(t_i) (a_i + 2 sum_{j > i} a_j), e increasing in t
    later = np.cumsum(a[::-1])[::-1] - a
    cross = float(np.sum(a * np.expm1(vol * vol * t) * (a + 2.0 * later)))
    return fwd, cross, past_fixings * past_average


def asian_moments(
    *,
    spot: float,
    maturity: float,
    vol: float,
    rate: float,
    div: float = 0.0,
    n_fixings: int,
    past_average: float = 0.0,
    past_fixings: int = 0,
) -> tuple[float, float]:
    """Exact ``(E[A], E[A**2])`` of ``A = (past_fixings past_average + sum_{i=1..n} S(T i/n)) / (past_fixings +
    n)`` under GBM; tested against Monte Carlo."""
    fwd, cross, past = _average(spot, maturity, vol, rate, div, n_fixings, past_average, past_fixings)
    total = past_fixings + int(n_fixings)
    fut = float(fwd.sum())
    fut2 = fut * fut * (1.0 + cross)
    return (past + fut) / total, (past * past + 2.0 * past * fut + fut2) / (total * total)


def asian_price_mm(
    *,
    kind: str,
    spot: float,
    strike: float,
    maturity: float,
    vol: float,
    rate: float,
    div: float = 0.0,
    n_fixings: int,
    past_average: float = 0.0,
    past_fixings: int = 0,
) -> float:
    """Arithmetic Asian (fixings ``T i/n``, paid at ``T``) by Turnbull-Wakeman / Levy moment matching; tested
    against QuantLib's TurnbullWakemanAsianEngine.

    The future part of the average is matched to a lognormal and struck at ``K - past_fixings past_average /
    (past_fixings + n)``; when that effective strike is ``<= 0`` the call is the exact discounted forward
    ``e^{-rT} (E[A] - K)`` and the put is 0.
    """
    phi = _sign(kind)
    fwd, cross, past = _average(spot, maturity, vol, rate, div, n_fixings, past_average, past_fixings)
    total = past_fixings + int(n_fixings)
    mean = float(fwd.sum()) / total
    eff_strike = strike - past / total
    return float(_black(phi, mean, math.log1p(cross), eff_strike, math.exp(-rate * maturity)))
