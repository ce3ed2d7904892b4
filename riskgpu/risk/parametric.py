"""Parametric VaR: delta-normal and delta-gamma (Cornish-Fisher) from the book's sensitivities.

With log returns ``r ~ N(0, C)`` over the horizon, ``C = cov h / 252``, and ``dS_i = S_i r_i``, the book's
P&L is approximated by ``Q = w' r + r' A r / 2`` with dollar deltas ``w_i = sum_p q_p delta_pi S_i`` and
dollar gammas ``A_ij = sum_p q_p gamma_pij S_i S_j``: pure risk-factor P&L, so linear books give
``z sqrt(w'Cw)`` exactly; the time decay over the horizon is reported apart (``details["theta"]``).
The cumulants are exact (``k_1 = tr(AC)/2``, ``k_n = (n-1)! tr((AC)^n) / 2 + n! w'C(AC)^(n-2)w / 2``).
Delta-gamma VaR is the Cornish-Fisher quantile where that expansion is a valid quantile function (increasing
over the tail); elsewhere (large skew or kurtosis) the quantile and ES of ``Q`` itself are taken from
``2**20`` fixed-seed draws in its eigenbasis, and the result says so. Oracles in the tests: ``z sqrt(w'Cw)``
for linear books, Gauss-Hermite quadrature of the cumulants, Monte Carlo of ``Q``.
"""

from __future__ import annotations

import math

import numpy as np

from riskgpu.models.gbm import psd_cholesky
from riskgpu.risk.book import Book
from riskgpu.risk.stats import cf_valid, cf_var_es, empirical_var_es, normal_var_es
from riskgpu.rng import STREAM_SCENARIOS, normals_np, seed_key

APPROXIMATIONS = ("delta_normal", "delta_gamma")


def dollar_sensitivities(book: Book, sens: dict) -> tuple[float, np.ndarray, np.ndarray]:
    """``(theta, w (k,), A (k, k))`` of the whole book from per-unit position sensitivities."""
    q = book.quantities
    theta = math.fsum((q * sens["theta"]).tolist())
    w = (q @ sens["delta"]) * book.spots
    a = np.einsum("p,pij->ij", q, sens["gamma"]) * np.outer(book.spots, book.spots)
    return theta, w, a


def cumulants(theta: float, w: np.ndarray, a: np.ndarray, c: np.ndarray) -> tuple[float, float, float, float]:
    """The first four cumulants of ``theta + w'r + r'Ar/2`` with ``r ~ N(0, c)`` (``theta`` a constant)."""
    ac = a @ c
    ac2 = ac @ ac
    cw = c @ w
    k1 = theta + 0.5 * float(np.trace(ac))
    k2 = float(w @ cw) + 0.5 * float(np.trace(ac2))
    k3 = 3.0 * float(cw @ a @ cw) + float(np.trace(ac2 @ ac))
    k4 = 12.0 * float(cw @ a @ c @ a @ cw) + 3.0 * float(np.trace(ac2 @ ac2))
    return k1, k2, k3, k4


#: Draws of the quadratic form where Cornish-Fisher is not a valid quantile function.
QUADRATIC_DRAWS = 1 << 20


def quadratic_losses(w: np.ndarray, a: np.ndarray, c: np.ndarray, *, n: int = QUADRATIC_DRAWS) -> tuple:
    """``(losses, basis)``: ``n`` draws of the loss ``-(w'r + r'Ar/2)``, ``r ~ N(0, c)``, taken in the eigenbasis
    of ``L'AL`` (``c = LL'``) as ``-(sum_j b_j y_j + lambda_j y_j^2 / 2)`` with ``y`` Philox normals (seed 0,
    ``STREAM_SCENARIOS``, draw ``i`` = path index ``i``); draw ``i``'s returns are ``r = basis @ y_i``."""
    low = psd_cholesky(c)
    lam, vec = np.linalg.eigh(low.T @ a @ low)
    b = vec.T @ (low.T @ w)
    out = np.empty(n)
    step = 1 << 16
    for first in range(0, n, step):
        idx = np.arange(first, first + step, dtype=np.uint64)
        y = normals_np(b.size, idx, key=seed_key(0), stream=STREAM_SCENARIOS)
        out[first : first + step] = -(y @ b + 0.5 * (y * y) @ lam)
    return out, low @ vec


def parametric_var(
    theta: float,
    w: np.ndarray,
    a: np.ndarray,
    c: np.ndarray,
    *,
    approximation: str,
    confidence: float,
    es_confidence: float,
) -> dict:
    """VaR at ``confidence`` and ES at ``es_confidence`` of ``w'r`` (delta-normal) or ``w'r + r'Ar/2``
    (delta-gamma); ``theta`` is not part of them (reported beside). Returns ``var``, ``es``, ``cumulants``
    and ``quantile`` (``"normal"``, ``"cornish_fisher"`` or ``"simulated"``)."""
    if approximation == "delta_normal":
        sd = math.sqrt(max(float(w @ c @ w), 0.0))
        return {
            "var": normal_var_es(0.0, sd, confidence)[0],
            "es": normal_var_es(0.0, sd, es_confidence)[1],
            "cumulants": (0.0, sd * sd, 0.0, 0.0),
            "quantile": "normal",
        }
    ks = cumulants(0.0, w, a, c)
    if cf_valid(ks, min(confidence, es_confidence)):
        return {
            "var": cf_var_es(ks, confidence)[0],
            "es": cf_var_es(ks, es_confidence)[1],
            "cumulants": ks,
            "quantile": "cornish_fisher",
        }
    losses, basis = quadratic_losses(w, a, c)
    return {
        "var": empirical_var_es(losses, confidence)[0],
        "es": empirical_var_es(losses, es_confidence)[1],
        "cumulants": ks,
        "quantile": "simulated",
        "losses": losses,
        "basis": basis,
    }
