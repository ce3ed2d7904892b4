"""European options under Merton's (1976) jump diffusion as a Poisson mixture of Black-Scholes prices.

Convention of QuantLib's Merton76Process: jumps ``S -> S (1 + J)`` arrive at rate ``lam`` with ``log(1 + J)
~ N(jump_mean, jump_std**2)``; the drift ``r - q - lam k``, ``k = exp(jump_mean + jump_std**2 / 2) - 1``,
keeps ``S e^{qt}`` a discounted martingale. Given ``n`` jumps, ``S_T`` is lognormal with total variance
``vol**2 T + n jump_std**2`` and mean ``F e^{-lam k T} (1 + k)**n``, so::

    price = sum_n e^{-lam T} (lam T)**n / n! * BS(spot e^{-lam k T} (1 + k)**n, vol_n),
    vol_n**2 = vol**2 + n jump_std**2 / T.

The series stops once the Poisson tail beyond the last term is below 1e-16 both for ``N ~ Poisson(lam T)``
(which bounds the put terms, each <= ``K e^{-rT}``) and for ``N ~ Poisson(lam (1 + k) T)`` (which bounds the
call terms relative to ``S e^{-qT}``). Tested against QuantLib's BatesEngine with no stochastic volatility
(QuantLib's JumpDiffusionEngine is not in its Python bindings).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import gammaln, pdtrc

from riskgpu.analytic.black_scholes import _sign, bs_price

_TAIL = 1e-16


def merton_price(
    *,
    kind: str,
    spot: float,
    strike: float,
    maturity: float,
    vol: float,
    rate: float,
    div: float = 0.0,
    lam: float,
    jump_mean: float,
    jump_std: float,
) -> float:
    """European option under Merton's jump diffusion (Poisson series); tested against QuantLib's
    BatesEngine with zero vol of variance.

    Parameters
    ----------
    lam
        Jump intensity per year (``lam = 0`` is Black-Scholes).
    jump_mean, jump_std
        Mean and standard deviation of the log jump size ``log(1 + J)``.

    Returns
    -------
    float
        The price; ``T = 0`` gives the intrinsic value and zero diffusive and jump variance the discounted
        intrinsic value of each conditional forward.
    """
    _sign(kind)
    if lam < 0 or jump_std < 0:
        raise ValueError(f"need lam >= 0 and jump_std >= 0, got lam={lam!r}, jump_std={jump_std!r}")
    mkt = {"kind": kind, "strike": strike, "rate": rate, "div": div}
    if maturity == 0 or lam == 0:
        return float(bs_price(spot=spot, maturity=maturity, vol=vol, **mkt))
    k = math.expm1(jump_mean + 0.5 * jump_std * jump_std)
    mean_n = lam * maturity
    mean_tilted = lam * (1.0 + k) * maturity
    n_max = int(max(mean_n, mean_tilted) + 40.0 * math.sqrt(max(mean_n, mean_tilted)) + 60.0)
    ns = np.arange(n_max + 1)
    tail = np.maximum(pdtrc(ns, mean_n), pdtrc(ns, mean_tilted))
    below = np.flatnonzero(tail < _TAIL)
    if below.size == 0:
        raise ValueError(f"Poisson series did not converge within {n_max} terms (lam T = {mean_n!r})")
    ns = ns[: below[0] + 1]
    weights = np.exp(-mean_n + ns * math.log(mean_n) - gammaln(ns + 1.0))
    spots = spot * np.exp(-lam * k * maturity + ns * math.log1p(k))
    vols = np.sqrt(vol * vol + ns * (jump_std * jump_std / maturity))
    terms = bs_price(spot=spots, maturity=maturity, vol=vols, **mkt)
    return float(np.dot(weights, terms))
