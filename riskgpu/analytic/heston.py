"""European options under Heston (1993) by Lewis's single Fourier integral.

Model: ``dS/S = (r - q) dt + sqrt(v) dW1``, ``dv = kappa (theta - v) dt + xi sqrt(v) dW2``, ``d<W1, W2> = rho
dt``. With ``X = log(S_T / F)``, ``F = S e^{(r-q)T}`` and ``k = log(F / K)`` the call is (Lewis 2001)::

    C = e^{-rT} [F - sqrt(F K) / pi int_0^inf Re(e^{iuk} phi(u - i/2)) / (u**2 + 1/4) du],

and the put follows by put-call parity (``P = e^{-rT} K - e^{-rT} sqrt(F K) / pi int ...``, the same
integral). The characteristic function ``phi(u) = E[e^{iuX}] = exp(A + v0 B)`` is Albrecher et al.'s
"little Heston trap" form, with ``beta = kappa - rho xi iu``, ``q = iu + u**2``, ``d = sqrt(beta**2 + xi**2
q)``, ``g = (beta - d) / (beta + d)``, rewritten without division by ``xi**2`` (``beta - d = -xi**2 q /
(beta + d)``)::

    B = -q / (beta + d) (1 - e^{-dT}) / (1 - g e^{-dT})
    A = kappa theta [-q T / (beta + d) - 2 (g / xi**2) (1 - e^{-dT}) / (1 - g) log1p(z) / z],
        z = g (1 - e^{-dT}) / (1 - g).

On the Lewis contour ``q = u**2 + 1/4`` is real. The integral is done by ``scipy.integrate.quad`` up to the
point where the integrand's modulus drops below 1e-17 (tolerance ~1e-13). ``xi = 0`` is Black-Scholes with
the integrated variance ``theta T + (v0 - theta)(1 - e^{-kappa T}) / kappa``. Tested against QuantLib's
AnalyticHestonEngine.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import exprel

from riskgpu.analytic.black_scholes import _sign, bs_price


def _log1p_over(z):
    """``log(1 + z) / z`` for complex ``z``, accurate near 0."""
    if abs(z) < 1e-4:
        return 1.0 - z / 2.0 + z * z / 3.0
    return np.log1p(z) / z


def _log_cf(u, maturity, v0, kappa, theta, xi, rho):
    """``log E[exp(iu log(S_T/F))]`` for complex ``u`` (little-trap form)."""
    iu = 1j * u
    q = iu + u * u
    beta = kappa - rho * xi * iu
    d = np.sqrt(beta * beta + xi * xi * q)
    bd = beta + d
    g_over = -q / (bd * bd)
    g = xi * xi * g_over
    one_minus_e = -np.expm1(-d * maturity)
    ratio = one_minus_e / (1.0 - g)
    big_b = -q / bd * one_minus_e / (1.0 - g * (1.0 - one_minus_e))
    big_a = kappa * theta * (-q * maturity / bd - 2.0 * g_over * ratio * _log1p_over(g * ratio))
    return big_a + v0 * big_b


def heston_price(
    *,
    kind: str,
    spot: float,
    strike: float,
    maturity: float,
    v0: float,
    kappa: float,
    theta: float,
    xi: float,
    rho: float,
    rate: float,
    div: float = 0.0,
) -> float:
    """European option under Heston by Lewis's Fourier integral; tested against QuantLib's
    AnalyticHestonEngine.

    Parameters
    ----------
    v0, kappa, theta, xi, rho
        Initial variance, mean-reversion speed, long-run variance, vol of variance, correlation.

    Returns
    -------
    float
        The price. ``xi = 0`` gives Black-Scholes with the integrated variance, so ``T = 0`` or a
        vanishing variance give the discounted intrinsic value of the forward.
    """
    phi = _sign(kind)
    if min(v0, kappa, theta, xi) < 0 or not -1.0 <= rho <= 1.0:
        raise ValueError(f"need v0, kappa, theta, xi >= 0 and |rho| <= 1, got {(v0, kappa, theta, xi, rho)!r}")
    no_variance = v0 == 0 and kappa * theta == 0
    if xi == 0 or maturity == 0 or no_variance:
        # integrated variance of the deterministic v: theta T + (v0 - theta) (1 - e^{-kappa T}) / kappa
        var = theta * maturity + (v0 - theta) * maturity * float(exprel(-kappa * maturity))
        vol = math.sqrt(max(var, 0.0) / maturity) if maturity > 0 else 0.0
        return float(bs_price(kind=kind, spot=spot, strike=strike, maturity=maturity, vol=vol, rate=rate, div=div))

    fwd = spot * math.exp((rate - div) * maturity)
    k = math.log(fwd / strike)
    params = (maturity, v0, kappa, theta, xi, rho)

    def integrand(u):
        z = u - 0.5j
        return (np.exp(1j * u * k + _log_cf(z, *params))).real / (u * u + 0.25)

    def modulus(u):
        return math.exp(_log_cf(u - 0.5j, *params).real) / (u * u + 0.25)

    upper = 1.0
    while modulus(upper) > 1e-17 and upper < 1e7:
        upper *= 2.0
    integral = quad(integrand, 0.0, upper, epsabs=1e-13, epsrel=1e-13, limit=2000)[0]
    df = math.exp(-rate * maturity)
    otm_part = df * math.sqrt(fwd * strike) / math.pi * integral
    # clip rounding below the no-arbitrage bound e^{-rT} (phi (F - K))^+ (a few 1e-14 for far strikes)
    return float(max((fwd if phi > 0 else strike) * df - otm_part, df * max(phi * (fwd - strike), 0.0)))
