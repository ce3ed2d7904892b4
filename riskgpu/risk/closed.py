"""Scalar closed forms of the revaluation grid, compiled for the CPU (``@njit``) and called as CUDA device
functions by the grid kernels (``riskgpu.risk.closed_grid``).

Every function takes and returns scalars only (no arrays), so the same code runs in the ``prange`` kernel,
the CUDA kernel and, from Python, under the CUDA simulator. They are ports of ``riskgpu.analytic`` (scipy's
``ndtr`` / ``log_ndtr`` / ``exprel`` rewritten with ``math.erfc``, ``math.expm1``) and are tested against
it to ~1e-12 relative, limits included (zero volatility, zero maturity, deep in / out of the money).
Conventions: ``phi`` = +1 call / -1 put; ``updown`` = +1 up / -1 down barrier; maturities in years.
One extension: ``seasoned_geometric`` maps a seasoned geometric Asian onto the unseasoned closed form.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from riskgpu.analytic.barrier import BGK_BETA

jit = njit(cache=True, error_model="numpy")

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GL_X, _GL_W = np.polynomial.legendre.leggauss(16)

# riskgpu.analytic.barrier._TERMS as an array: [(up, out, put) index, strike < barrier, coefficient of A..D]
_TERMS = np.array(
    [
        [[0, 0, 1, 0], [1, -1, 0, 1]],  # down in call
        [[0, 1, -1, 1], [1, 0, 0, 0]],  # down in put
        [[1, 0, -1, 0], [0, 1, 0, -1]],  # down out call
        [[1, -1, 1, -1], [0, 0, 0, 0]],  # down out put
        [[1, 0, 0, 0], [0, 1, -1, 1]],  # up in call
        [[1, -1, 0, 1], [0, 0, 1, 0]],  # up in put
        [[0, 0, 0, 0], [1, -1, 1, -1]],  # up out call
        [[0, 1, 0, -1], [1, 0, -1, 0]],  # up out put
    ],
    dtype=np.float64,
)


@jit
def ndtr(x):
    """Standard normal cdf (cephes' split at ``|x| = 1``, as scipy)."""
    z = x * _SQRT1_2
    if abs(z) < _SQRT1_2:
        return 0.5 + 0.5 * math.erf(z)
    y = 0.5 * math.erfc(abs(z))
    return 1.0 - y if z > 0 else y


@jit
def log_ndtr(x):
    """``log N(x)`` without underflow: asymptotic series of ``erfc`` below ``x = -30``."""
    if x > -1.0:
        return math.log1p(-0.5 * math.erfc(x * _SQRT1_2))
    if x > -30.0:
        return math.log(0.5 * math.erfc(-x * _SQRT1_2))
    inv = 1.0 / (x * x)
    term = 1.0
    total = 1.0
    for k in range(1, 9):
        term *= -(2.0 * k - 1.0) * inv
        total += term
    return -0.5 * x * x - math.log(-x) - _LOG_SQRT_2PI + math.log(total)


@jit
def exprel(x):
    """``(e^x - 1) / x``, 1 at 0."""
    if abs(x) < 1e-16:
        return 1.0
    return math.expm1(x) / x


@jit
def black(phi, mean, var, strike, df):
    """Discounted Black price of a lognormal with mean ``mean`` and log-variance ``var`` (``moments._black``)."""
    if strike <= 0:
        return df * (mean - strike) if phi > 0 else 0.0
    if var <= 0:
        return df * max(phi * (mean - strike), 0.0)
    sd = math.sqrt(var)
    d1 = math.log(mean / strike) / sd + 0.5 * sd
    return phi * df * (mean * ndtr(phi * d1) - strike * ndtr(phi * (d1 - sd)))


@jit
def forward(spot, strike, maturity, rate, div):
    """Long forward ``S e^{-qT} - K e^{-rT}``."""
    return spot * math.exp(-div * maturity) - strike * math.exp(-rate * maturity)


@jit
def bs(phi, spot, strike, maturity, vol, rate, div):
    """Black-Scholes price; oracle ``riskgpu.analytic.bs_price`` (limit ``e^{-rT} (phi (F - K))^+``)."""
    sd = vol * math.sqrt(maturity)
    fwd = spot * math.exp((rate - div) * maturity)
    df = math.exp(-rate * maturity)
    if sd > 0:
        d1 = (math.log(spot / strike) + (rate - div) * maturity) / sd + 0.5 * sd
        return phi * df * (fwd * ndtr(phi * d1) - strike * ndtr(phi * (d1 - sd)))
    return df * max(phi * (fwd - strike), 0.0)


@jit
def digital(phi, spot, strike, maturity, vol, rate, div, payout):
    """Cash-or-nothing digital; oracle ``riskgpu.analytic.digital_price``."""
    sd = vol * math.sqrt(maturity)
    fwd = spot * math.exp((rate - div) * maturity)
    df = math.exp(-rate * maturity)
    if sd > 0:
        d1 = (math.log(spot / strike) + (rate - div) * maturity) / sd + 0.5 * sd
        return payout * df * ndtr(phi * (d1 - sd))
    return payout * df if phi * (fwd - strike) > 0 else 0.0


@jit
def _beyond(spot, barrier, updown):
    return spot >= barrier if updown > 0 else spot <= barrier


@jit
def _pn(log_power, x):
    return math.exp(log_power + log_ndtr(x))


@jit
def _deterministic(phi, spot, strike, barrier, maturity, rate, div, updown, out, rebate, n_fixings):
    """Zero variance: the forward path, monitored continuously (``n_fixings = 0``) or on ``T i / n``."""
    b = rate - div
    df = math.exp(-rate * maturity)
    intrinsic = df * max(phi * (spot * math.exp(b * maturity) - strike), 0.0)
    hit = False
    hit_time = 0.0
    if n_fixings == 0:
        if maturity > 0 and _beyond(spot * math.exp(b * maturity), barrier, updown):
            hit = True
            hit_time = math.log(barrier / spot) / b
    else:
        for i in range(1, n_fixings + 1):
            t = i * (maturity / n_fixings)
            if _beyond(spot * math.exp(b * t), barrier, updown):
                hit = True
                hit_time = t
                break
    if out:
        return rebate * math.exp(-rate * hit_time) if hit else intrinsic
    return intrinsic if hit else rebate * df


@jit
def rebate_quadrature(h, maturity, vol, rate, div):
    """``E[e^{-r tau}; tau <= T]`` for the first passage ``tau`` of ``nu t + vol W`` at ``h`` by a fixed
    16-point Gauss-Legendre rule in ``w = |h| / (vol sqrt(t))`` (``2 phi(w) e^{h nu / vol^2 + c t} dw``),
    panels doubling from ``w0 = |h| / (vol sqrt(T))`` to 1, then of width ``min(1, 4 / w)`` up to
    ``sqrt(w0^2 + 80)``; oracle: the scipy ``quad`` of ``riskgpu.analytic.barrier`` (negative rates)."""
    nu = rate - div - 0.5 * vol * vol
    v2 = vol * vol
    c = -(nu * nu / (2.0 * v2) + rate)
    lead = h * nu / v2
    w0 = abs(h) / (vol * math.sqrt(maturity))
    w_end = math.sqrt(w0 * w0 + 80.0)
    total = 0.0
    lo = w0
    while lo < w_end:
        hi = min(2.0 * lo, 1.0) if lo < 1.0 else lo + min(1.0, 4.0 / lo)
        hi = min(hi, w_end)
        half = 0.5 * (hi - lo)
        mid = 0.5 * (hi + lo)
        part = 0.0
        for k in range(16):
            w = mid + half * _GL_X[k]
            t = h * h / (v2 * w * w)
            part += _GL_W[k] * math.exp(-0.5 * w * w + lead + c * t)
        total += half * part
        lo = hi
    return 2.0 * _INV_SQRT_2PI * total


@jit
def _rebate_at_hit(spot, barrier, maturity, vol, rate, div, eta):
    s = vol * math.sqrt(maturity)
    mu = (rate - div - 0.5 * vol * vol) / (vol * vol)
    disc = mu * mu + 2.0 * rate / (vol * vol)
    h = math.log(barrier / spot)
    if disc < 0:
        return rebate_quadrature(h, maturity, vol, rate, div)
    lam = math.sqrt(disc)
    if rate == 0.0:
        small = 0.0
    elif mu < 0:
        small = -2.0 * rate / (vol * vol) / (mu - lam)
    else:
        small = -2.0 * rate / (vol * vol) / (mu + lam)
    plus = small if mu < 0 else mu + lam
    minus = mu - lam if mu < 0 else small
    z = h / s + lam * s
    return _pn(plus * h, eta * z) + _pn(minus * h, eta * (z - 2.0 * lam * s))


@jit
def barrier(phi, spot, strike, level, maturity, vol, rate, div, updown, out, rebate):
    """Continuously monitored barrier option (Reiner-Rubinstein, QuantLib's rebate convention); oracle
    ``riskgpu.analytic.barrier_price``. A spot at or beyond ``level``: a knock-out is worth ``rebate``, a
    knock-in the vanilla."""
    if _beyond(spot, level, updown):
        return rebate if out else bs(phi, spot, strike, maturity, vol, rate, div)
    if vol * math.sqrt(maturity) == 0:
        return _deterministic(phi, spot, strike, level, maturity, rate, div, updown, out, rebate, 0)
    eta = -updown
    s = vol * math.sqrt(maturity)
    mu = (rate - div - 0.5 * vol * vol) / (vol * vol)
    fq = spot * math.exp(-div * maturity)
    kr = strike * math.exp(-rate * maturity)
    h = math.log(level / spot)
    shift = (1.0 + mu) * s
    x1 = math.log(spot / strike) / s + shift
    x2 = -h / s + shift
    y1 = (2 * h - math.log(strike / spot)) / s + shift
    y2 = h / s + shift
    row = (4 if updown > 0 else 0) + (2 if out else 0) + (1 if phi < 0 else 0)
    col = 0 if strike >= level else 1
    value = 0.0
    for i in range(4):
        c = _TERMS[row, col, i]
        if c != 0:
            if i < 2:
                xi = x1 if i == 0 else x2
                term = phi * (fq * ndtr(phi * xi) - kr * ndtr(phi * (xi - s)))
            else:
                yi = y1 if i == 2 else y2
                term = phi * (fq * _pn(2 * (mu + 1) * h, eta * yi) - kr * _pn(2 * mu * h, eta * (yi - s)))
            value += c * term
    if rebate != 0:
        if out:
            value += rebate * _rebate_at_hit(spot, level, maturity, vol, rate, div, eta)
        else:
            value += rebate * math.exp(-rate * maturity) * (ndtr(eta * (x2 - s)) - _pn(2 * mu * h, eta * (y2 - s)))
    return value


@jit
def discrete_barrier(phi, spot, strike, level, maturity, vol, rate, div, updown, out, rebate, n_fixings):
    """Barrier monitored at ``T i / n``: ``barrier`` at the BGK-shifted level; oracle
    ``riskgpu.analytic.discrete_barrier_price``."""
    if _beyond(spot, level, updown):
        return barrier(phi, spot, strike, level, maturity, vol, rate, div, updown, out, rebate)
    if vol * math.sqrt(maturity) == 0:
        return _deterministic(phi, spot, strike, level, maturity, rate, div, updown, out, rebate, n_fixings)
    shifted = level * math.exp(updown * BGK_BETA * vol * math.sqrt(maturity / n_fixings))
    return barrier(phi, spot, strike, shifted, maturity, vol, rate, div, updown, out, rebate)


@jit
def geometric_asian(phi, spot, strike, maturity, vol, rate, div, n_fixings):
    """Unseasoned discrete geometric Asian; oracle ``riskgpu.analytic.geometric_asian_price``."""
    n = n_fixings
    median = spot * math.exp((rate - div - 0.5 * vol * vol) * maturity * (n + 1) / (2.0 * n))
    mean = math.log(median)
    var = vol * vol * maturity * (n + 1) * (2 * n + 1) / (6.0 * n * n)
    df = math.exp(-rate * maturity)
    if var <= 0:
        return df * max(phi * (median - strike), 0.0)
    sd = math.sqrt(var)
    d2 = (mean - math.log(strike)) / sd
    d1 = d2 + sd
    return phi * df * (math.exp(mean + 0.5 * var) * ndtr(phi * d1) - strike * ndtr(phi * d2))


@jit
def seasoned_geometric(spot, vol, rate, div, n_fixings, past_fixings, past_average):
    """``(spot', vol', div')`` with which the unseasoned closed form prices a seasoned geometric Asian.

    ``log A = (m log G + sum_{i=1..n} log S(T i/n)) / N`` (``m`` past fixings of geometric mean ``G``,
    ``N = m + n``) is normal with the unseasoned law of ``n`` fixings for ``spot' = G^{m/N} S^{n/N}``,
    ``vol' = vol n / N`` and ``r - div' - vol'^2/2 = (r - div - vol^2/2) n / N``. Oracle: the Monte Carlo
    reference backend (``rg.price``) within k standard errors."""
    if past_fixings == 0:
        return spot, vol, div
    total = past_fixings + n_fixings
    frac = n_fixings / total
    s = math.exp((past_fixings * math.log(past_average) + n_fixings * math.log(spot)) / total)
    v = vol * frac
    return s, v, rate - 0.5 * v * v - (rate - div - 0.5 * vol * vol) * frac


@jit
def arithmetic_asian(phi, spot, strike, maturity, vol, rate, div, n_fixings, past_fixings, past_average):
    """Seasoned arithmetic Asian by Turnbull-Wakeman moment matching; oracle
    ``riskgpu.analytic.asian_price_mm``."""
    n = n_fixings
    fut = 0.0
    for i in range(1, n + 1):
        fut += spot * math.exp((rate - div) * (maturity * i / n))
    cross = 0.0
    later = 0.0
    for i in range(n, 0, -1):
        t = maturity * i / n
        a = spot * math.exp((rate - div) * t) / fut
        cross += a * math.expm1(vol * vol * t) * (a + 2.0 * later)
        later += a
    total = past_fixings + n
    eff = strike - past_fixings * past_average / total
    return black(phi, fut / total, math.log1p(cross), eff, math.exp(-rate * maturity))


@jit
def _ndtr_diff_quotient(a, w):
    """``(N(a) - N(a - w)) / w``, exact as ``w -> 0``."""
    if abs(w) <= 0.5:
        total = 0.0
        for k in range(16):
            u = a - 0.5 * w + 0.5 * w * _GL_X[k]
            total += _GL_W[k] * math.exp(-0.5 * u * u)
        return 0.5 * total * _INV_SQRT_2PI
    lo = min(a, a - w)
    hi = max(a, a - w)
    diff = ndtr(-lo) - ndtr(-hi) if lo > 0 else ndtr(hi) - ndtr(lo)
    return diff / abs(w)


@jit
def _piece(phi, spot, level, maturity, vol, rate, div):
    """``Cc(level)`` (phi = 1) or ``Pc(level)`` (phi = -1) of ``riskgpu.analytic.lookback``."""
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
    return vanilla + phi * spot * dr * quotient


@jit
def lookback(phi, spot, maturity, vol, rate, div, strike, floating, hi, lo, n_fixings):
    """Lookback with seasoned extremes ``hi >= spot >= lo``, continuous (``n_fixings = 0``) or discrete
    (BGK shift); floating strike when ``floating``. Oracle ``riskgpu.analytic.lookback_price``."""
    dr = math.exp(-rate * maturity)
    dq = math.exp(-div * maturity)
    if vol * math.sqrt(maturity) == 0:
        fwd = spot * math.exp((rate - div) * maturity)
        big = max(hi, fwd)
        small = min(lo, fwd)
        if floating:
            payoff = fwd - small if phi > 0 else big - fwd
        else:
            payoff = max(phi * ((big if phi > 0 else small) - strike), 0.0)
        return dr * payoff
    a = 0.0 if n_fixings == 0 else BGK_BETA * vol * math.sqrt(maturity / n_fixings)
    if floating:
        if phi > 0:
            put = math.exp(a) * _piece(-1.0, spot, lo * math.exp(-a), maturity, vol, rate, div) if lo > 0 else 0.0
            return spot * dq - dr * lo + put
        return dr * hi + math.exp(-a) * _piece(1.0, spot, hi * math.exp(a), maturity, vol, rate, div) - spot * dq
    if phi > 0:
        level = max(strike, hi)
        return math.exp(-a) * _piece(1.0, spot, level * math.exp(a), maturity, vol, rate, div) + dr * max(
            hi - strike, 0.0
        )
    level = min(strike, lo)
    put = math.exp(a) * _piece(-1.0, spot, level * math.exp(-a), maturity, vol, rate, div) if level > 0 else 0.0
    return put + dr * max(strike - lo, 0.0)
