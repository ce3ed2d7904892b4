"""The revaluation grid's kernels: the CRR tree, the per-cell dispatcher and the CPU / CUDA kernels.

``cell`` values position ``p`` in scenario ``s`` from the encoded arrays of ``riskgpu.risk.grid.Grid``
(layout below): it applies ``grid.advance``'s rules (time passes, barriers knock, extremes update) and
calls the scalar closed forms of ``riskgpu.risk.closed``. The CPU kernel runs it in a ``prange`` over
blocks of the flattened (scenario, position) grid; the CUDA kernel in a grid-stride loop, one cell per
thread; each cell is computed alone, so the result depends on neither the blocks nor the launch shape.
Under the CUDA simulator the array-taking functions (``cell``) run from their Python source and call the
compiled scalar functions. A cell that has no value (an up-probability of the tree outside [0, 1], an
arithmetic basket with a non-positive mean) is NaN; ``grid.revalue`` turns that into an error.

``params`` columns (``NPARAM``): 0 strike, 1 maturity, 2 sign (+1 call / -1 put), 3 today's spot (single
asset) or the number of assets (basket), then per family: digital 4 payout; barrier 4 level, 5 +1 up / -1
down, 6 knock-out, 7 rebate, 8 fixings (0 continuous), 9 knocked; Asians 4 fixings, 5 past fixings, 6 past
average; lookback 4 floating, 5 fixings (0 continuous), 6 running max (0 unseasoned), 7 running min (inf);
american 4 exercisable today, 5 offset and 6 count of its exercise times in ``extra`` (Bermudans).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from riskgpu.products.american import AMERICAN_DATES
from riskgpu.risk import closed as cf

FAMILIES: dict[str, int] = {
    "spot": 0,
    "forward": 1,
    "european": 2,
    "digital": 3,
    "barrier": 4,
    "asian_geometric": 5,
    "asian_arithmetic": 6,
    "lookback": 7,
    "basket_arithmetic": 8,
    "basket_geometric": 9,
    "american": 10,
}
MAX_ASSETS = 16
MAX_TREE = 1024
NPARAM = 10
_TREE_NODES = MAX_TREE + 1  # a literal for cuda.local.array
#: Cells per ``prange`` iteration of the CPU kernel (one tree workspace each).
CPU_BLOCK = 64

SPOT, FORWARD, EUROPEAN, DIGITAL, BARRIER = 0, 1, 2, 3, 4
ASIAN_GEOMETRIC, ASIAN_ARITHMETIC, LOOKBACK, BASKET_ARITHMETIC, BASKET_GEOMETRIC, AMERICAN = 5, 6, 7, 8, 9, 10


@njit(cache=True, error_model="numpy")
def round_half_even(x):
    """Python's ``round`` of a float: ties to even."""
    f = math.floor(x)
    d = x - f
    if d > 0.5 or (d == 0.5 and f % 2 != 0):
        f += 1.0
    return int(f)


@njit(cache=True, error_model="numpy")
def crr(ws, mask, n, phi, spot, strike, maturity, vol, rate, div):
    """CRR tree of ``n`` steps exercising at the steps ``i`` with ``mask[i] != 0``; ``ws`` ``(>= n + 1,)``
    workspace. Oracle: ``riskgpu.analytic.binomial_price`` (NaN where it raises: up probability outside
    [0, 1])."""
    if maturity == 0.0 or vol == 0.0:
        best = 0.0
        for i in range(n + 1):
            if mask[i] != 0:
                t = maturity * i / n
                fwd = spot * math.exp((rate - div) * t)
                best = max(best, math.exp(-rate * t) * max(phi * (fwd - strike), 0.0))
        return best
    dt = maturity / n
    dx = vol * math.sqrt(dt)
    pu = 0.5 + 0.5 * (rate - div - 0.5 * vol * vol) * dt / dx
    if not (0.0 <= pu <= 1.0):
        return math.nan
    pu_disc = math.exp(-rate * dt) * pu
    pd_disc = math.exp(-rate * dt) * (1.0 - pu)
    log_spot = math.log(spot)
    grow = math.exp(2.0 * dx)
    for j in range(n + 1):
        ws[j] = max(phi * (math.exp(log_spot + (2 * j - n) * dx) - strike), 0.0)
    for i in range(n - 1, -1, -1):
        for j in range(i + 1):
            ws[j] = pd_disc * ws[j] + pu_disc * ws[j + 1]
        if mask[i] != 0:  # node j of step i: spot e^{(2j - i) dx}, by products (no exp per node)
            node = math.exp(log_spot - i * dx)
            for j in range(i + 1):
                ws[j] = max(ws[j], phi * (node - strike))
                node *= grow
    return ws[0]


@njit(cache=True, error_model="numpy")
def _mark(mask, n, t, maturity):
    mask[min(n, round_half_even(t / maturity * n))] = 1


@njit(cache=True, error_model="numpy")
def _beyond(spot, level, updown):
    return spot >= level if updown > 0 else spot <= level


@njit(cache=True, error_model="numpy")
def cell(s, p, codes, params, assets, weights, extra, spots, vols, rates, divs, corr, elapsed, n_tree, ws, mask):
    """Value per unit of position ``p`` in scenario ``s`` (``grid.advance`` then the closed form)."""
    code = codes[p]
    h = elapsed[s]
    rate = rates[s]
    strike, phi = params[p, 0], params[p, 2]
    tau = max(params[p, 1] - h, 0.0)
    if code == BASKET_GEOMETRIC:  # the exact law of log G
        var = 0.0
        log_mean = 0.0
        for i in range(int(params[p, 3])):
            a = assets[p, i]
            u = 0.0
            for j in range(int(params[p, 3])):
                b = assets[p, j]
                u += weights[p, j] * (corr[a, b] * vols[s, a] * vols[s, b])
            var += u * weights[p, i]
            log_mean += weights[p, i] * (math.log(spots[s, a]) + (rate - divs[a] - 0.5 * vols[s, a] * vols[s, a]) * tau)
        var *= tau
        return cf.black(phi, math.exp(log_mean + 0.5 * var), var, strike, math.exp(-rate * tau))
    if code == BASKET_ARITHMETIC:  # two-moment lognormal match; NaN for a non-positive expected basket
        m1 = 0.0
        for i in range(int(params[p, 3])):
            a = assets[p, i]
            m1 += weights[p, i] * spots[s, a] * math.exp((rate - divs[a]) * tau)
        if not m1 > 0:
            return math.nan
        cross = 0.0
        for i in range(int(params[p, 3])):
            a = assets[p, i]
            ai = weights[p, i] * spots[s, a] * math.exp((rate - divs[a]) * tau) / m1
            for j in range(int(params[p, 3])):
                b = assets[p, j]
                aj = weights[p, j] * spots[s, b] * math.exp((rate - divs[b]) * tau) / m1
                cross += ai * aj * math.expm1(corr[a, b] * vols[s, a] * vols[s, b] * tau)
        return cf.black(phi, m1, math.log1p(cross), strike, math.exp(-rate * tau))
    a = assets[p, 0]
    spot, vol, div, today = spots[s, a], vols[s, a], divs[a], params[p, 3]
    if code == SPOT:
        return spot
    if code == FORWARD:
        return cf.forward(spot, strike, tau, rate, div)
    if code == EUROPEAN:
        return cf.bs(phi, spot, strike, tau, vol, rate, div)
    if code == DIGITAL:
        return cf.digital(phi, spot, strike, tau, vol, rate, div, params[p, 4])
    if code == BARRIER:
        level, updown, out, rebate = params[p, 4], params[p, 5], params[p, 6] != 0, params[p, 7]
        knocked = params[p, 9] != 0
        if not knocked and h > 0 and _beyond(today, level, updown):
            knocked = not (out and _beyond(spot, level, updown))  # a knock-out beyond now pays its rebate
        if knocked:
            return 0.0 if out else cf.bs(phi, spot, strike, tau, vol, rate, div)
        n_fix = int(params[p, 8])
        if n_fix == 0:
            return cf.barrier(phi, spot, strike, level, tau, vol, rate, div, updown, out, rebate)
        return cf.discrete_barrier(phi, spot, strike, level, tau, vol, rate, div, updown, out, rebate, n_fix)
    if code == ASIAN_GEOMETRIC:
        n, m = int(params[p, 4]), int(params[p, 5])
        s1, v1, q1 = cf.seasoned_geometric(spot, vol, rate, div, n, m, params[p, 6])
        return cf.geometric_asian(phi, s1, strike, tau, v1, rate, q1, n)
    if code == ASIAN_ARITHMETIC:
        return cf.arithmetic_asian(
            phi, spot, strike, tau, vol, rate, div, int(params[p, 4]), int(params[p, 5]), params[p, 6]
        )
    if code == LOOKBACK:
        hi = max(params[p, 6], spot)
        lo = min(params[p, 7], spot)
        if h > 0:
            hi = max(hi, today)
            lo = min(lo, today)
        return cf.lookback(phi, spot, tau, vol, rate, div, strike, params[p, 4] != 0, hi, lo, int(params[p, 5]))
    if code == AMERICAN:
        for i in range(n_tree + 1):
            mask[i] = 0
        mask[n_tree] = 1
        if tau > 0:
            if params[p, 4] != 0:
                mask[0] = 1
                for i in range(1, AMERICAN_DATES + 1):
                    _mark(mask, n_tree, tau * i / AMERICAN_DATES, tau)
            else:
                first = int(params[p, 5])
                for j in range(first, first + int(params[p, 6])):
                    t = extra[j] - h
                    if t > 0:
                        _mark(mask, n_tree, t, tau)
        return crr(ws, mask, n_tree, phi, spot, strike, tau, vol, rate, div)
    return math.nan


@njit(parallel=True, cache=True, error_model="numpy")
def revalue_cpu(out, cols, codes, params, assets, weights, extra, spots, vols, rates, divs, corr, elapsed, n_tree):
    """``out[s, p]`` = ``cell(s, p, ...)`` for the positions ``p`` in ``cols`` and every scenario, ``prange``
    over blocks of ``CPU_BLOCK`` cells."""
    n_cols = cols.shape[0]
    total = out.shape[0] * n_cols
    for b in prange((total + CPU_BLOCK - 1) // CPU_BLOCK):
        ws = np.empty(n_tree + 1, dtype=np.float64)
        mask = np.empty(n_tree + 1, dtype=np.uint8)
        for k in range(b * CPU_BLOCK, min(total, (b + 1) * CPU_BLOCK)):
            s = k // n_cols
            p = cols[k - s * n_cols]
            out[s, p] = cell(
                s, p, codes, params, assets, weights, extra, spots, vols, rates, divs, corr, elapsed, n_tree, ws, mask
            )


@njit(parallel=True, cache=True, error_model="numpy")
def revalue_linear_cpu(out, cols, kind, asset, logs, spots, phi, c0, inv_sd, sd, fq, kr):
    """The Black-Scholes family when every scenario shares the vols, rate and elapsed time: per-position
    constants precomputed (``grid.linear_constants``), per cell one log-spot lookup and at most two normal
    cdfs. ``kind``: 0 spot, 1 forward ``S fq - kr``, 2 European ``phi (S fq N(phi d1) - kr N(phi d2))``, 3
    digital ``kr N(phi d2)`` (``kr`` = payout e^{-r tau}), with ``d1 = log S / sd + c0``, ``d2 = d1 - sd``.
    Oracle: the reference backend (``riskgpu.analytic``)."""
    for s in prange(out.shape[0]):
        for j in range(cols.shape[0]):
            a = asset[j]
            x = spots[s, a]
            k = kind[j]
            if k == 0:
                v = x
            elif k == 1:
                v = x * fq[j] - kr[j]
            else:
                d1 = logs[s, a] * inv_sd[j] + c0[j]
                d2 = phi[j] * (d1 - sd[j])
                if k == 2:
                    v = phi[j] * (x * fq[j] * cf.ndtr(phi[j] * d1) - kr[j] * cf.ndtr(d2))
                else:
                    v = kr[j] * cf.ndtr(d2)
            out[s, cols[j]] = v


_CUDA: dict[str, object] = {}
#: ``numba.cuda``, imported by ``cuda_kernel`` only (a module global, so the simulator can swap it).
cuda = None


def cuda_kernel() -> object:
    """The CUDA twin of ``revalue_cpu`` (built once; imports ``numba.cuda``): one cell per thread, grid-stride."""
    global cuda
    if "kernel" in _CUDA:
        return _CUDA["kernel"]
    from numba import config
    from numba import cuda as numba_cuda

    cuda = numba_cuda

    body = cell.py_func if config.ENABLE_CUDASIM else cell

    @cuda.jit
    def kernel(out, codes, params, assets, weights, extra, spots, vols, rates, divs, corr, elapsed, n_tree):
        ws = cuda.local.array(_TREE_NODES, np.float64)
        mask = cuda.local.array(_TREE_NODES, np.uint8)
        n_pos = codes.shape[0]
        total = out.shape[0] * n_pos
        k = cuda.grid(1)
        stride = cuda.gridsize(1)
        while k < total:
            s = k // n_pos
            p = k - s * n_pos
            out[s, p] = body(
                s, p, codes, params, assets, weights, extra, spots, vols, rates, divs, corr, elapsed, n_tree, ws, mask
            )
            k += stride

    _CUDA["kernel"] = kernel
    return kernel
