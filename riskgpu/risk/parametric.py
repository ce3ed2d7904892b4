"""Parametric VaR: delta-normal and delta-gamma (Cornish-Fisher) from the book's sensitivities.

With daily log returns ``r ~ N(0, C)``, ``C = cov h / 252``, and ``dS_i = S_i r_i``, the book's P&L is
approximated by ``Q = theta + w' r + r' A r / 2`` with dollar deltas ``w_i = sum_p q_p delta_pi S_i``,
dollar gammas ``A_ij = sum_p q_p gamma_pij S_i S_j`` and ``theta`` the time decay over the horizon.
Its cumulants are exact (``k_1 = theta + tr(AC)/2``, ``k_n = (n-1)! tr((AC)^n) / 2 + n! w'C(AC)^(n-2)w / 2``);
delta-normal keeps ``theta + w'r``. Oracles in the tests: ``z sqrt(w'Cw)`` for linear books, the sample
cumulants of simulated ``Q``.
"""

from __future__ import annotations

import math

import numpy as np

from riskgpu.risk.book import Book
from riskgpu.risk.stats import cf_var_es, normal_var_es

APPROXIMATIONS = ("delta_normal", "delta_gamma")


def dollar_sensitivities(book: Book, sens: dict) -> tuple[float, np.ndarray, np.ndarray]:
    """``(theta, w (k,), A (k, k))`` of the whole book from per-unit position sensitivities."""
    q = book.quantities
    theta = math.fsum((q * sens["theta"]).tolist())
    w = (q @ sens["delta"]) * book.spots
    a = np.einsum("p,pij->ij", q, sens["gamma"]) * np.outer(book.spots, book.spots)
    return theta, w, a


def cumulants(theta: float, w: np.ndarray, a: np.ndarray, c: np.ndarray) -> tuple[float, float, float, float]:
    """The first four cumulants of ``theta + w'r + r'Ar/2`` with ``r ~ N(0, c)``."""
    ac = a @ c
    ac2 = ac @ ac
    cw = c @ w
    k1 = theta + 0.5 * float(np.trace(ac))
    k2 = float(w @ cw) + 0.5 * float(np.trace(ac2))
    k3 = 3.0 * float(cw @ a @ cw) + float(np.trace(ac2 @ ac))
    k4 = 12.0 * float(cw @ a @ c @ a @ cw) + 3.0 * float(np.trace(ac2 @ ac2))
    return k1, k2, k3, k4


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
    """VaR at ``confidence`` and ES at ``es_confidence`` of the approximated P&L, with its cumulants."""
    if approximation == "delta_normal":
        sd = math.sqrt(max(float(w @ c @ w), 0.0))
        ks = (theta, sd * sd, 0.0, 0.0)
        var = normal_var_es(theta, sd, confidence)[0]
        es = normal_var_es(theta, sd, es_confidence)[1]
    else:
        ks = cumulants(theta, w, a, c)
        var = cf_var_es(ks, confidence)[0]
        es = cf_var_es(ks, es_confidence)[1]
    return {"var": var, "es": es, "cumulants": ks}
