"""Lookback options: continuous monitoring in closed form, discrete monitoring by the BGK shift.

Let ``M`` / ``m`` be the maximum / minimum of the spot over today and the future monitoring dates, floored /
capped by the seasoned extrema (``Mf = max(running_max, S)``, ``mc = min(running_min, S)``). Everything is
built from two "out-of-the-money" pieces of the continuously monitored extremum over ``[0, T]``::

    Cc(L) = e^{-rT} E[(max S - L)^+]   for L >= S,      Pc(L) = e^{-rT} E[(L - min S)^+]   for L <= S,

given by Goldman-Sosin-Gatto / Conze-Viswanathan (as in Haug): with ``b = r - q``, ``s = vol sqrt(T)``,
``l = log(S/L)``, ``d1 = (l + (b + vol**2/2) T) / s``, ``e = 2 b / vol**2`` and ``phi = +1`` (Cc) / ``-1``
(Pc)::

    piece = vanilla_phi(L) + phi S e^{-rT} [e^{bT} N(phi d1) - e^{-e l} N(phi (d1 - e s))] / e.

Near ``b = 0`` the bracket over ``e`` is evaluated as ``e^{-e l} [c exprel(e c) N(phi d1) + phi s
(N(d1) - N(d1 - e s)) / (e s)]`` with ``c = s**2/2 + l`` and the normal-cdf difference quotient by
Gauss-Legendre quadrature of the density, so ``b = 0`` is the exact limit and small ``|b|`` do not cancel.

Discrete monitoring (dates ``T i / n``, i = 1..n, today's spot included) follows Broadie, Glasserman and
Kou (1999): with ``a = BGK_BETA vol sqrt(T/n)``, ``P(max_i S_i >= h) ~ P(max S >= h e^a)`` for ``h >= S`` and
``P(min_i S_i <= h) ~ P(min S <= h e^{-a})`` for ``h <= S``. Writing ``E[(X - L)^+] = int_L^inf P(X >= h) dh``
and substituting ``u = h e^a`` gives the discrete pieces (``a = 0`` is continuous monitoring)::

    Cd(L) = e^{-a} Cc(L e^a)   (L >= S),        Pd(L) = e^{a} Pc(L e^{-a})   (L <= S).

Since ``M >= Mf`` and ``(M - K)^+ = (Mf - K) + (M - Mf)^+`` when ``K <= Mf`` (likewise for ``m``)::

    fixed call    = Cd(max(K, Mf)) + e^{-rT} (Mf - K)^+
    fixed put     = Pd(min(K, mc)) + e^{-rT} (K - mc)^+
    floating call = e^{-rT} E[S_T - m] = S e^{-qT} - e^{-rT} mc + Pd(mc)
    floating put  = e^{-rT} E[M - S_T] = e^{-rT} Mf + Cd(Mf) - S e^{-qT}

The continuous prices are tested against QuantLib's analytic continuous lookback engines. With
``vol sqrt(T) = 0`` the path ``S e^{bt}`` is monotone, so its extrema are at today or at expiry.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import exprel, log_ndtr, ndtr

from riskgpu.analytic.barrier import BGK_BETA
from riskgpu.analytic.black_scholes import _sign

_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)


def _ndtr_diff_quotient(a, w):
    """``(N(a) - N(a - w)) / w``, exact as ``w -> 0`` (the density at ``a``)."""
    if abs(w) <= 0.5:
        u = a - 0.5 * w + 0.5 * w * _GL_X
        return float(0.5 * np.dot(_GL_W, np.exp(-0.5 * u * u)) / math.sqrt(2.0 * math.pi))
    lo, hi = min(a, a - w), max(a, a - w)
    diff = ndtr(-lo) - ndtr(-hi) if lo > 0 else ndtr(hi) - ndtr(lo)
    return float(diff / abs(w))


def _piece(phi, spot, level, maturity, vol, rate, div):
    """``Cc(level)`` (phi = 1, level >= spot) or ``Pc(level)`` (phi = -1, level <= spot), vol sqrt(T) > 0."""
    s = vol * math.sqrt(maturity)
    b = rate - div
    e = 2.0 * b / (vol * vol)
    ell = math.log(spot / level)
    d1 = (ell + (b + 0.5 * vol * vol) * maturity) / s
    dr = math.exp(-rate * maturity)
    vanilla = phi * (spot * math.exp(-div * maturity) * ndtr(phi * d1) - level * dr * ndtr(phi * (d1 - s)))
    if abs(e) * (abs(ell) + s * s + s) <= 1.0:
        c = 0.5 * s * s + ell
        quotient = math.exp(-e * ell) * (c * exprel(e * c) * ndtr(phi * d1) + phi * s * _ndtr_diff_quotient(d1, e * s))
    else:
        first = math.exp(b * maturity + log_ndtr(phi * d1))
        second = math.exp(-e * ell + log_ndtr(phi * (d1 - e * s)))
        quotient = (first - second) / e
    return float(vanilla + phi * spot * dr * quotient)


def lookback_price(
    *,
    kind: str,
    spot: float,
    maturity: float,
    vol: float,
    rate: float,
    div: float = 0.0,
    strike: float | None = None,
    running_max: float | None = None,
    running_min: float | None = None,
    n_fixings: int | None = None,
) -> float:
    """Lookback option, continuous (``n_fixings=None``) or discretely monitored (BGK shift); the continuous
    prices are tested against QuantLib's analytic lookback engines.

    Parameters
    ----------
    strike
        ``None`` for a floating strike (call pays ``S_T - m``, put ``M - S_T``); otherwise fixed strike (call
        pays ``(M - K)^+``, put ``(K - m)^+``).
    running_max, running_min
        Seasoned extrema (default: the spot); they must bracket the spot.
    n_fixings
        Monitoring dates ``T i / n``, i = 1..n; today's spot is part of the extremum.

    Returns
    -------
    float
        The price; with ``vol sqrt(T) = 0`` the discounted payoff of the forward path.
    """
    phi = _sign(kind)
    hi = float(spot if running_max is None else running_max)
    lo = float(spot if running_min is None else running_min)
    if hi < spot:
        raise ValueError(f"running_max must be >= spot, got {running_max!r} < {spot!r}")
    if lo > spot:
        raise ValueError(f"running_min must be <= spot, got {running_min!r} > {spot!r}")
    if n_fixings is not None and int(n_fixings) < 1:
        raise ValueError(f"n_fixings must be >= 1, got {n_fixings!r}")
    dr = math.exp(-rate * maturity)
    dq = math.exp(-div * maturity)

    if vol * math.sqrt(maturity) == 0:
        fwd = spot * math.exp((rate - div) * maturity)
        big, small = max(hi, fwd), min(lo, fwd)
        if strike is None:
            payoff = fwd - small if phi > 0 else big - fwd
        else:
            payoff = max(phi * ((big if phi > 0 else small) - strike), 0.0)
        return float(dr * payoff)

    a = 0.0 if n_fixings is None else BGK_BETA * vol * math.sqrt(maturity / int(n_fixings))
    mkt = (maturity, vol, rate, div)

    def call_piece(level):  # Cd(level), level >= spot
        return math.exp(-a) * _piece(1.0, spot, level * math.exp(a), *mkt)

    def put_piece(level):  # Pd(level), level <= spot; 0 for a strike <= 0
        return math.exp(a) * _piece(-1.0, spot, level * math.exp(-a), *mkt) if level > 0 else 0.0

    if strike is None:
        if phi > 0:
            return float(spot * dq - dr * lo + put_piece(lo))
        return float(dr * hi + call_piece(hi) - spot * dq)
    if phi > 0:
        return float(call_piece(max(strike, hi)) + dr * max(hi - strike, 0.0))
    return float(put_piece(min(strike, lo)) + dr * max(strike - lo, 0.0))
