"""Black-Scholes closed forms with continuous dividend yield: prices, digitals and Greeks.

All functions are vectorised over numpy broadcasting and handle the limits exactly: zero maturity or
zero volatility give the discounted intrinsic value of the forward. Cross-checked against QuantLib's
analytic European engine in the tests.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

ArrayLike = float | np.ndarray


def _sign(kind: str) -> float:
    if kind not in ("call", "put"):
        raise ValueError(f"kind must be 'call' or 'put', got {kind!r}")
    return 1.0 if kind == "call" else -1.0


def _d1_d2(spot, strike, maturity, vol, rate, div):
    sd = np.asarray(vol, dtype=float) * np.sqrt(maturity)
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = (np.log(np.divide(spot, strike)) + (rate - div) * maturity) / sd + 0.5 * sd
    return d1, d1 - sd, sd


def bs_price(
    *,
    kind: str,
    spot: ArrayLike,
    strike: ArrayLike,
    maturity: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike,
    div: ArrayLike = 0.0,
) -> np.ndarray:
    """European option price; the limit ``exp(-rT) max(sign (F - K), 0)`` when ``vol sqrt(T) = 0``."""
    s = _sign(kind)
    d1, d2, sd = _d1_d2(spot, strike, maturity, vol, rate, div)
    fwd = spot * np.exp((rate - div) * maturity)
    df = np.exp(-rate * np.asarray(maturity, dtype=float))
    with np.errstate(invalid="ignore"):
        smooth = s * df * (fwd * ndtr(s * d1) - strike * ndtr(s * d2))
    return np.where(sd > 0, smooth, df * np.maximum(s * (fwd - strike), 0.0))


def digital_price(
    *,
    kind: str,
    spot: ArrayLike,
    strike: ArrayLike,
    maturity: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike,
    div: ArrayLike = 0.0,
    payout: ArrayLike = 1.0,
) -> np.ndarray:
    """Cash-or-nothing digital: ``payout exp(-rT) N(sign d2)``; strict inequality in the limit."""
    s = _sign(kind)
    _, d2, sd = _d1_d2(spot, strike, maturity, vol, rate, div)
    fwd = spot * np.exp((rate - div) * maturity)
    df = np.exp(-rate * np.asarray(maturity, dtype=float))
    with np.errstate(invalid="ignore"):
        smooth = payout * df * ndtr(s * d2)
    return np.where(sd > 0, smooth, payout * df * (s * (fwd - strike) > 0))


def bs_greeks(
    *,
    kind: str,
    spot: ArrayLike,
    strike: ArrayLike,
    maturity: ArrayLike,
    vol: ArrayLike,
    rate: ArrayLike,
    div: ArrayLike = 0.0,
) -> dict[str, np.ndarray]:
    """``price, delta, gamma, vega, theta, rho`` of a European option (``vol sqrt(T) > 0``).

    ``theta`` is the change per year as calendar time passes (``-dV/dT``); ``vega`` and ``rho`` are per
    unit (1.00 = 100%) change of volatility and rate.
    """
    s = _sign(kind)
    d1, d2, sd = _d1_d2(spot, strike, maturity, vol, rate, div)
    if np.any(sd <= 0):
        raise ValueError("bs_greeks needs vol * sqrt(maturity) > 0")
    t = np.asarray(maturity, dtype=float)
    dq = np.exp(-div * t)
    dr = np.exp(-rate * t)
    pdf = np.exp(-0.5 * d1 * d1) / np.sqrt(2.0 * np.pi)
    return {
        "price": bs_price(kind=kind, spot=spot, strike=strike, maturity=maturity, vol=vol, rate=rate, div=div),
        "delta": s * dq * ndtr(s * d1),
        "gamma": dq * pdf / (spot * sd),
        "vega": spot * dq * pdf * np.sqrt(t),
        "theta": -spot * dq * pdf * vol / (2.0 * np.sqrt(t))
        - s * rate * strike * dr * ndtr(s * d2)
        + s * div * spot * dq * ndtr(s * d1),
        "rho": s * strike * t * dr * ndtr(s * d2),
    }
