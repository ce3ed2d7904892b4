"""Risk contributions: component VaR/ES per position (summing to the totals) and marginal VaR.

Simulation methods (DESIGN.md section 2): the component VaR of a position is its loss in the VaR scenario
(the ``ceil(a N)``-th smallest loss, ties broken by scenario index), its component ES its mean loss over
the ES tail scenarios (losses ``>= VaR`` at the ES confidence): both sum to the totals. Marginal VaR is
the derivative of VaR in a position's quantity: its unit loss in the VaR scenario.

Parametric methods: Euler allocation ``q_p dVaR/dq_p`` (VaR is homogeneous of degree one in the
quantities, so the components sum to VaR). Delta-normal in closed form; delta-gamma (Cornish-Fisher) by
the exact derivatives of the four cumulants through the expansion; where delta-gamma VaR came from the
simulated quadratic form, the per-position quadratic forms in the VaR draw and over the tail draws.
Tested: sums equal the totals to float precision; marginal VaR equals a finite difference of ``rg.var``
in the position's quantity.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import ndtri

from riskgpu.risk.stats import cornish_fisher, rank
from riskgpu.rng import STREAM_SCENARIOS, normals_np, seed_key


def simulation(
    unit_pnl: np.ndarray, quantities: np.ndarray, pnl: np.ndarray, confidence: float, es_conf: float
) -> dict:
    """Components from the scenario P&L: ``unit_pnl`` ``(N, n_pos)`` per unit, ``pnl`` ``(N,)`` the book's."""
    losses = -pnl
    order = np.argsort(losses, kind="stable")
    s_var = int(order[rank(confidence, losses.size) - 1])
    es_var = losses[order[rank(es_conf, losses.size) - 1]]
    tail = losses >= es_var
    by_position = unit_pnl * quantities
    return {
        "component_var": -by_position[s_var],
        "component_es": -by_position[tail].mean(axis=0),
        "marginal_var": -unit_pnl[s_var],
        "var_scenario": s_var,
    }


def delta_normal(w_pos: np.ndarray, c: np.ndarray, quantities: np.ndarray, confidence: float, es_conf: float) -> dict:
    """Euler components of delta-normal VaR/ES; ``w_pos`` ``(n_pos, k)`` per-unit dollar deltas."""
    w = quantities @ w_pos
    sd = math.sqrt(max(float(w @ c @ w), 0.0))
    if sd == 0.0:
        zero = np.zeros(quantities.size)
        return {"component_var": zero, "component_es": zero, "marginal_var": zero}
    beta = w_pos @ (c @ w) / sd  # dsd/dq_p
    z = float(ndtri(confidence))
    ze = float(ndtri(es_conf))
    es_mult = math.exp(-0.5 * ze * ze) / math.sqrt(2.0 * math.pi) / (1.0 - es_conf)
    return {
        "component_var": quantities * z * beta,
        "component_es": quantities * es_mult * beta,
        "marginal_var": z * beta,
    }


def _cumulant_gradients(w_pos, a_pos, q, c):
    """Cumulants ``k1..k4`` of ``w'r + r'Ar/2`` and their gradients in the quantities ``q``."""
    w = q @ w_pos
    a = np.einsum("p,pij->ij", q, a_pos)
    ac = a @ c
    ac2 = ac @ ac
    cw = c @ w
    k = (
        0.5 * np.trace(ac),
        float(w @ cw) + 0.5 * np.trace(ac2),
        3.0 * float(cw @ a @ cw) + np.trace(ac2 @ ac),
        12.0 * float(cw @ a @ c @ a @ cw) + 3.0 * np.trace(ac2 @ ac2),
    )
    apc = np.einsum("pij,jk->pik", a_pos, c)  # A_p C
    cacw = c @ a @ cw
    cac_acw = c @ a @ c @ a @ cw
    g1 = 0.5 * np.einsum("pii->p", apc)
    g2 = 2.0 * w_pos @ cw + np.einsum("pij,ji->p", apc, ac)
    g3 = 6.0 * w_pos @ cacw + 3.0 * np.einsum("i,pij,j->p", cw, a_pos, cw) + 3.0 * np.einsum("pij,ji->p", apc, ac2)
    g4 = (
        24.0 * w_pos @ cac_acw
        + 24.0 * np.einsum("i,pij,j->p", cw, a_pos, cacw)
        + 12.0 * np.einsum("pij,ji->p", apc, ac2 @ ac)
    )
    return k, (g1, g2, g3, g4)


def delta_gamma(
    w_pos: np.ndarray, a_pos: np.ndarray, c: np.ndarray, quantities: np.ndarray, confidence: float, es_conf: float
) -> dict:
    """Euler components of Cornish-Fisher delta-gamma VaR and ES: ``w_pos`` ``(n_pos, k)`` and ``a_pos``
    ``(n_pos, k, k)`` per-unit dollar deltas and gammas; derivatives exact (chain rule through skew and
    kurtosis); ES by the same closed form as ``stats.cf_var_es``."""
    (_, k2, k3, k4), (g1, g2, g3, g4) = _cumulant_gradients(w_pos, a_pos, quantities, c)
    if k2 <= 0:
        zero = np.zeros(quantities.size)
        return {"component_var": zero, "component_es": zero, "marginal_var": zero}
    sd = math.sqrt(k2)
    s, kk = k3 / k2**1.5, k4 / k2**2
    ds = g3 / k2**1.5 - 1.5 * k3 * g2 / k2**2.5
    dk = g4 / k2**2 - 2.0 * k4 * g2 / k2**3
    dsd = 0.5 * g2 / sd

    def var_grad(a: float) -> np.ndarray:
        z = float(ndtri(1.0 - a))
        cf = float(cornish_fisher(z, s, kk))
        dcf_ds = (z * z - 1.0) / 6.0 - (2.0 * z**3 - 5.0 * z) * s / 18.0
        dcf_dk = (z**3 - 3.0 * z) / 24.0
        return -(g1 + dsd * cf + sd * (dcf_ds * ds + dcf_dk * dk))

    def es_grad(a: float) -> np.ndarray:
        tail = 1.0 - a
        t = float(ndtri(tail))
        pdf = math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)
        i0, i1, i2, i3 = tail, -pdf, tail - t * pdf, -(t * t + 2.0) * pdf
        m = i1 + (i2 - i0) * s / 6.0 + (i3 - 3.0 * i1) * kk / 24.0 - (2.0 * i3 - 5.0 * i1) * s * s / 36.0
        dm_ds = (i2 - i0) / 6.0 - (2.0 * i3 - 5.0 * i1) * s / 18.0
        dm_dk = (i3 - 3.0 * i1) / 24.0
        return -(g1 + (dsd * m + sd * (dm_ds * ds + dm_dk * dk)) / tail)

    marginal = var_grad(confidence)
    return {
        "component_var": quantities * marginal,
        "component_es": quantities * es_grad(es_conf),
        "marginal_var": marginal,
    }


def delta_gamma_simulated(
    w_pos: np.ndarray, a_pos: np.ndarray, quantities: np.ndarray, losses: np.ndarray, basis: np.ndarray,
    confidence: float, es_conf: float,
) -> dict:  # fmt: skip
    """Components where delta-gamma VaR came from ``parametric.quadratic_losses`` (``losses``, ``basis``): each
    position's quadratic form in the VaR draw and averaged over the tail draws (the same Philox draws,
    regenerated by index, ``r = basis @ y``)."""
    order = np.argsort(losses, kind="stable")
    s_var = int(order[rank(confidence, losses.size) - 1])
    tail = np.flatnonzero(losses >= losses[order[rank(es_conf, losses.size) - 1]])

    def unit_q(idx: np.ndarray) -> np.ndarray:  # (len(idx), n_pos) per-unit quadratic forms
        y = normals_np(basis.shape[1], idx.astype(np.uint64), key=seed_key(0), stream=STREAM_SCENARIOS)
        r = y @ basis.T
        return r @ w_pos.T + 0.5 * np.einsum("si,pij,sj->sp", r, a_pos, r)

    at_var = unit_q(np.array([s_var]))[0]
    return {
        "component_var": -quantities * at_var,
        "component_es": -quantities * unit_q(tail).mean(axis=0),
        "marginal_var": -at_var,
    }
