"""Discrete geometric-average Asian option in closed form (fixings at ``T i / n``, i = 1..n).

``log G`` is normal with mean ``log S + (r - q - vol**2/2) T (n + 1) / (2n)`` and variance
``vol**2 T (n + 1)(2n + 1) / (6 n**2)``. Cross-checked against QuantLib's
AnalyticDiscreteGeometricAveragePriceAsianEngine in the tests.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr


def geometric_asian_price(
    *,
    kind: str,
    spot: float,
    strike: float,
    maturity: float,
    vol: float,
    rate: float,
    div: float = 0.0,
    n_fixings: int,
) -> float:
    """Price of a fixed-strike discrete geometric Asian; the deterministic limit when the variance is 0."""
    if kind not in ("call", "put"):
        raise ValueError(f"kind must be 'call' or 'put', got {kind!r}")
    s = 1.0 if kind == "call" else -1.0
    n = int(n_fixings)
    # median of G: spot * exp(E[log G / spot]); computed without log/exp of the spot so T = 0 is exact
    median = spot * np.exp((rate - div - 0.5 * vol * vol) * maturity * (n + 1) / (2.0 * n))
    mean = np.log(median)
    var = vol * vol * maturity * (n + 1) * (2 * n + 1) / (6.0 * n * n)
    df = np.exp(-rate * maturity)
    if var <= 0:
        return float(df * max(s * (median - strike), 0.0))
    sd = np.sqrt(var)
    with np.errstate(divide="ignore"):
        d2 = (mean - np.log(strike)) / sd
    d1 = d2 + sd
    return float(s * df * (np.exp(mean + 0.5 * var) * ndtr(s * d1) - strike * ndtr(s * d2)))
