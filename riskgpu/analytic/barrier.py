"""Single barrier options: continuous monitoring in closed form, discrete monitoring by the BGK shift.

Continuous monitoring follows Reiner and Rubinstein (1991) in the notation of Haug (*The Complete Guide
to Option Pricing Formulas*). With ``b = rate - div``, ``s = vol sqrt(T)``,
``mu = (b - vol**2/2) / vol**2``, ``lam = sqrt(mu**2 + 2 rate / vol**2)``, ``phi = +1 / -1`` for a
call / put and ``eta = +1 / -1`` for a down / up barrier ``H``::

    A = phi S e^{-qT} N(phi x1) - phi K e^{-rT} N(phi (x1 - s))                  x1 = log(S/K)/s + (1+mu) s
    B = same with x2 = log(S/H)/s + (1+mu) s
    C = phi S e^{-qT} (H/S)^{2(mu+1)} N(eta y1) - phi K e^{-rT} (H/S)^{2mu} N(eta (y1 - s)),
        y1 = log(H**2/(S K))/s + (1+mu) s
    D = same with y2 = log(H/S)/s + (1+mu) s
    E = R e^{-rT} [N(eta (x2 - s)) - (H/S)^{2mu} N(eta (y2 - s))]                 (rebate R at expiry)
    F = R [(H/S)^{mu+lam} N(eta z) + (H/S)^{mu-lam} N(eta (z - 2 lam s))]          (rebate R at the hit)
        z = log(H/S)/s + lam s

and each of the eight options is a signed sum of A..D (table ``_TERMS``, branching on ``K >= H``) plus
``E`` for a knock-in or ``F`` for a knock-out: QuantLib's AnalyticBarrierEngine convention, against which
the tests check it. Powers times normal probabilities are evaluated as ``exp(log power + log N)`` so
small volatilities do not overflow. When ``mu**2 + 2 rate / vol**2 < 0`` (a strongly negative rate) ``F``
is the integral of the discounted first-passage density, done numerically.

Discrete monitoring uses the Broadie-Glasserman-Kou (1997) continuity correction: monitoring every ``dt``
is priced as continuous monitoring of the barrier moved away from the spot by ``exp(BGK_BETA vol
sqrt(dt))``, with ``BGK_BETA = -zeta(1/2) / sqrt(2 pi)``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import log_ndtr, ndtr, zeta

from riskgpu.analytic.black_scholes import _sign, bs_price

BGK_BETA: float = float(-zeta(0.5) / math.sqrt(2.0 * math.pi))
"""Broadie-Glasserman-Kou constant ``-zeta(1/2) / sqrt(2 pi) = 0.5826...``."""

# coefficients of (A, B, C, D) for (direction, knock, kind) -> (strike >= barrier, strike < barrier)
_TERMS = {
    ("down", "in", "call"): ((0, 0, 1, 0), (1, -1, 0, 1)),
    ("up", "in", "call"): ((1, 0, 0, 0), (0, 1, -1, 1)),
    ("down", "in", "put"): ((0, 1, -1, 1), (1, 0, 0, 0)),
    ("up", "in", "put"): ((1, -1, 0, 1), (0, 0, 1, 0)),
    ("down", "out", "call"): ((1, 0, -1, 0), (0, 1, 0, -1)),
    ("up", "out", "call"): ((0, 0, 0, 0), (1, -1, 1, -1)),
    ("down", "out", "put"): ((1, -1, 1, -1), (0, 0, 0, 0)),
    ("up", "out", "put"): ((0, 1, 0, -1), (1, 0, -1, 0)),
}


def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _knocked(spot, barrier, direction):
    return spot <= barrier if direction == "down" else spot >= barrier


def _pn(log_power, x):
    """``exp(log_power) * N(x)`` without overflow."""
    return math.exp(log_power + float(log_ndtr(x)))


def _deterministic(phi, spot, strike, barrier, maturity, rate, div, direction, knock, rebate, times=None):
    """Zero variance: the path is ``spot exp(b t)``, monitored continuously or on ``times``."""
    b = rate - div
    df = math.exp(-rate * maturity)
    intrinsic = df * max(phi * (spot * math.exp(b * maturity) - strike), 0.0)
    hit_time = None
    if times is None:
        if maturity > 0 and _knocked(spot * math.exp(b * maturity), barrier, direction):
            hit_time = math.log(barrier / spot) / b  # b != 0: the spot is strictly on the live side
    else:
        beyond = [t for t in times if _knocked(spot * math.exp(b * t), barrier, direction)]
        hit_time = beyond[0] if beyond else None
    if knock == "out":
        return intrinsic if hit_time is None else rebate * math.exp(-rate * hit_time)
    return rebate * df if hit_time is None else intrinsic


def _rebate_at_hit(spot, barrier, maturity, vol, rate, div, eta):
    """Haug's F / rebate: ``E[exp(-r tau); tau <= T]`` for the first passage time ``tau`` at the barrier."""
    s = vol * math.sqrt(maturity)
    mu = (rate - div - 0.5 * vol * vol) / (vol * vol)
    disc = mu * mu + 2.0 * rate / (vol * vol)
    h = math.log(barrier / spot)
    if disc >= 0:
        lam = math.sqrt(disc)
        # mu +- lam without cancellation: (mu + lam)(mu - lam) = -2 rate / vol**2
        if rate == 0.0:  # one root is exactly 0 (and mu = lam = 0 would divide 0 by 0)
            small = 0.0
        else:
            small = -2.0 * rate / (vol * vol) / (mu - lam) if mu < 0 else -2.0 * rate / (vol * vol) / (mu + lam)
        plus, minus = (small, mu - lam) if mu < 0 else (mu + lam, small)
        z = h / s + lam * s
        return _pn(plus * h, eta * z) + _pn(minus * h, eta * (z - 2.0 * lam * s))
    nu = rate - div - 0.5 * vol * vol

    def density(t):
        return abs(h) / (vol * math.sqrt(2.0 * math.pi * t**3)) * math.exp(-((h - nu * t) ** 2) / (2 * vol * vol * t))

    return quad(lambda t: math.exp(-rate * t) * density(t), 0.0, maturity, epsabs=1e-14, epsrel=1e-12, limit=200)[0]


def barrier_price(
    *,
    kind: str,
    spot: float,
    strike: float,
    barrier: float,
    maturity: float,
    vol: float,
    rate: float,
    div: float = 0.0,
    direction: str,
    knock: str,
    rebate: float = 0.0,
) -> float:
    """Continuously monitored single barrier option (Reiner-Rubinstein); tested against QuantLib's
    AnalyticBarrierEngine.

    Parameters
    ----------
    direction, knock
        ``"up"`` / ``"down"`` and ``"in"`` / ``"out"``.
    rebate
        A knock-out pays it when the barrier is hit; a knock-in pays it at expiry if it never was.

    Returns
    -------
    float
        The price. A spot at or beyond the barrier counts as knocked: a knock-out is worth ``rebate`` (paid
        now) and a knock-in the vanilla. With ``vol sqrt(T) = 0`` the forward path ``spot exp((r - q) t)``
        decides deterministically.
    """
    phi = _sign(kind)
    _check_choice("direction", direction, ("up", "down"))
    _check_choice("knock", knock, ("in", "out"))
    if _knocked(spot, barrier, direction):
        if knock == "out":
            return float(rebate)
        return float(bs_price(kind=kind, spot=spot, strike=strike, maturity=maturity, vol=vol, rate=rate, div=div))
    if vol * math.sqrt(maturity) == 0:
        return float(_deterministic(phi, spot, strike, barrier, maturity, rate, div, direction, knock, rebate))

    eta = 1.0 if direction == "down" else -1.0
    s = vol * math.sqrt(maturity)
    mu = (rate - div - 0.5 * vol * vol) / (vol * vol)
    fq = spot * math.exp(-div * maturity)
    kr = strike * math.exp(-rate * maturity)
    h = math.log(barrier / spot)

    def vanilla_like(x):  # A and B
        return phi * (fq * ndtr(phi * x) - kr * ndtr(phi * (x - s)))

    def reflected(y):  # C and D
        return phi * (fq * _pn(2 * (mu + 1) * h, eta * y) - kr * _pn(2 * mu * h, eta * (y - s)))

    shift = (1.0 + mu) * s
    x1 = math.log(spot / strike) / s + shift
    x2 = -h / s + shift
    y1 = (2 * h - math.log(strike / spot)) / s + shift
    y2 = h / s + shift
    coef = _TERMS[(direction, knock, kind)][0 if strike >= barrier else 1]
    terms = (vanilla_like(x1), vanilla_like(x2), reflected(y1), reflected(y2))
    value = sum(c * t for c, t in zip(coef, terms, strict=True) if c)
    if rebate != 0:
        if knock == "in":
            value += rebate * math.exp(-rate * maturity) * (ndtr(eta * (x2 - s)) - _pn(2 * mu * h, eta * (y2 - s)))
        else:
            value += rebate * _rebate_at_hit(spot, barrier, maturity, vol, rate, div, eta)
    return float(value)


def bgk_barrier(*, barrier: float, vol: float, dt: float, direction: str) -> float:
    """Continuous barrier equivalent to monitoring every ``dt`` (Broadie-Glasserman-Kou 1997):
    ``barrier exp(+-BGK_BETA vol sqrt(dt))``, moved away from the spot (up: higher, down: lower)."""
    _check_choice("direction", direction, ("up", "down"))
    sign = 1.0 if direction == "up" else -1.0
    return float(barrier * math.exp(sign * BGK_BETA * vol * math.sqrt(dt)))


def discrete_barrier_price(
    *,
    kind: str,
    spot: float,
    strike: float,
    barrier: float,
    maturity: float,
    vol: float,
    rate: float,
    div: float = 0.0,
    direction: str,
    knock: str,
    rebate: float = 0.0,
    n_fixings: int,
) -> float:
    """Barrier monitored at ``maturity i / n`` (i = 1..n): ``barrier_price`` at the BGK-shifted barrier.

    The BGK approximation has an error ``o(1/sqrt(n))`` (the uncorrected continuous price is off by
    ``O(1/sqrt(n))``); it is tested only for its formula and its convergence to ``barrier_price``. Rebates
    are approximate: a knock-out rebate is discounted from the continuous hitting time of the shifted
    barrier, not from the fixing date. Today's spot counts as knocked at or beyond ``barrier`` as in
    ``barrier_price`` (the shifted barrier is always further from the spot). With ``vol sqrt(T) = 0`` the
    forward path is checked exactly on the fixing dates.
    """
    phi = _sign(kind)
    _check_choice("direction", direction, ("up", "down"))
    _check_choice("knock", knock, ("in", "out"))
    n = int(n_fixings)
    if n < 1:
        raise ValueError(f"n_fixings must be >= 1, got {n_fixings!r}")
    kw = {"kind": kind, "spot": spot, "strike": strike, "maturity": maturity, "vol": vol, "rate": rate, "div": div}
    if _knocked(spot, barrier, direction):
        return barrier_price(**kw, barrier=barrier, direction=direction, knock=knock, rebate=rebate)
    if vol * math.sqrt(maturity) == 0:
        times = np.arange(1, n + 1) * (maturity / n)
        return float(_deterministic(phi, spot, strike, barrier, maturity, rate, div, direction, knock, rebate, times))
    shifted = bgk_barrier(barrier=barrier, vol=vol, dt=maturity / n, direction=direction)
    return barrier_price(**kw, barrier=shifted, direction=direction, knock=knock, rebate=rebate)
