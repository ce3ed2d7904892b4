"""The nearest correlation matrix (Higham 2002): alternating projections with Dykstra's correction.

N. J. Higham, "Computing the nearest correlation matrix: a problem from finance", IMA Journal of
Numerical Analysis 22 (2002) 329-343. With unit weights the problem is ``min ||A - X||_F`` over
symmetric positive semi-definite ``X`` with unit diagonal: the intersection of two closed convex sets,

* ``S``: symmetric positive semi-definite matrices, projection ``P_S(R) = V diag(max(w, 0)) V^T``;
* ``U``: symmetric matrices with unit diagonal, projection ``P_U(X)``: set the diagonal to 1.

Plain alternating projections converge to *a* point of the intersection; Dykstra's correction (carried
for the non-affine set ``S`` only, since ``U`` is affine) makes the limit the *nearest* one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Tolerance of the symmetry, unit-diagonal and positive semi-definite checks (as ``riskgpu.models.gbm``).
CORR_TOL = 1e-10
REPAIRS = ("none", "nearest")


def _proj_psd(r: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(r)
    x = (v * np.maximum(w, 0.0)) @ v.T
    return 0.5 * (x + x.T)


def _is_correlation(c: np.ndarray) -> bool:
    return bool(np.all(np.diag(c) == 1.0) and np.array_equal(c, c.T) and np.linalg.eigvalsh(c)[0] >= 0.0)


def nearest_correlation(c: np.ndarray, *, tol: float = 1e-12, max_iter: int = 1000) -> np.ndarray:
    """The correlation matrix nearest to ``c`` in the Frobenius norm (Higham 2002, unit weights).

    Parameters
    ----------
    c : ``(n, n)`` finite matrix; its symmetric part ``(c + c.T) / 2`` is used.
    tol : stop when the relative changes of both iterates and their relative gap fall below ``tol``
        (Higham's criterion).
    max_iter : most iterations (each one an ``n x n`` eigen-decomposition).

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` float64: symmetric, exactly unit diagonal, entries in [-1, 1], positive
        semi-definite up to rounding. A valid correlation matrix (already PSD) is returned unchanged.
        Whether or not ``tol`` is reached within ``max_iter``, the last PSD iterate is rescaled to a
        unit diagonal, so the result is always a valid correlation matrix.

    Notes
    -----
    ``Y_0 = A``, ``dS_0 = 0``; for ``k = 1, 2, ...``: ``R = Y - dS``, ``X = P_S(R)``, ``dS = X - R``,
    ``Y = P_U(X)``; stop when ``max(|X_k - X_{k-1}|/|X_k|, |Y_k - Y_{k-1}|/|Y_k|, |Y_k - X_k|/|Y_k|) <= tol``.
    """
    a = np.asarray(c, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ValueError(f"nearest_correlation needs a square (n, n) matrix, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("nearest_correlation needs a finite matrix")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter!r}")
    a = 0.5 * (a + a.T)
    if _is_correlation(a):
        return a.copy()
    y = a.copy()
    x = a.copy()
    ds = np.zeros_like(a)
    for _ in range(max_iter):
        x_old, y_old = x, y
        r = y - ds
        x = _proj_psd(r)
        ds = x - r
        y = x.copy()
        np.fill_diagonal(y, 1.0)
        ny = np.linalg.norm(y)
        change = max(
            np.linalg.norm(x - x_old) / max(np.linalg.norm(x), 1e-300),
            np.linalg.norm(y - y_old) / ny,
            np.linalg.norm(y - x) / ny,
        )
        if change <= tol:
            break
    # x is PSD; a congruence with a positive diagonal keeps it PSD and makes the diagonal exactly 1
    d = np.sqrt(np.maximum(np.diag(x), 1e-300))
    out = x / np.outer(d, d)
    out = np.clip(0.5 * (out + out.T), -1.0, 1.0)
    np.fill_diagonal(out, 1.0)
    return out


def check_correlation_named(
    c: np.ndarray, names: Sequence[str], *, repair: str = "none"
) -> tuple[np.ndarray, dict[str, object] | None]:
    """Validate a correlation matrix whose rows/columns are ``names``; errors name entries by names.

    Parameters
    ----------
    c : ``(n, n)`` matrix in the order of ``names``.
    names : the underlyings.
    repair : ``"none"``: a matrix that is not positive semi-definite is an error; ``"nearest"``: it is
        replaced by ``nearest_correlation`` and a report is returned.

    Returns
    -------
    (numpy.ndarray, dict or None)
        The matrix (exactly symmetric, unit diagonal; repaired if needed) and the repair report
        (``None`` when nothing was repaired): ``max_abs_change``, ``min_eigenvalue_before``,
        ``min_eigenvalue_after``, ``pair`` (the names of the entry changed most), ``pair_before``,
        ``pair_after``.

    Raises
    ------
    ValueError
        Wrong shape, an entry that is not finite, not in [-1, 1], a diagonal entry other than 1, an
        asymmetric pair, or (``repair="none"``) a negative eigenvalue below ``-CORR_TOL``.
    """
    if repair not in REPAIRS:
        raise ValueError(f"repair must be one of {', '.join(map(repr, REPAIRS))}, got {repair!r}")
    n = len(names)
    try:
        m = np.array(c, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"correlation must be a matrix of numbers, got {c!r}") from None
    if m.shape != (n, n):
        raise ValueError(f"correlation must have shape ({n}, {n}) for the {n} underlyings, got shape {m.shape}")
    for i in range(n):
        for j in range(n):
            v, at = float(m[i, j]), f"corr[{names[i]}, {names[j]}] = {float(m[i, j])!r}"
            if not np.isfinite(v):
                raise ValueError(f"{at}: must be finite")
            if i == j and abs(v - 1.0) > CORR_TOL:
                raise ValueError(f"{at}: the diagonal must be 1")
            if abs(v) > 1.0 + CORR_TOL:
                raise ValueError(f"{at}: must lie in [-1, 1]")
            if j > i and abs(v - m[j, i]) > CORR_TOL:
                raise ValueError(f"{at} but corr[{names[j]}, {names[i]}] = {float(m[j, i])!r}: not symmetric")
    m = np.clip(0.5 * (m + m.T), -1.0, 1.0)
    np.fill_diagonal(m, 1.0)
    w_min = float(np.linalg.eigvalsh(m)[0])
    if w_min >= -CORR_TOL:
        return m, None
    if repair == "none":
        raise ValueError(
            f"correlation matrix of {', '.join(names)} is not positive semi-definite: smallest eigenvalue "
            f"{w_min:.6g}; pass repair='nearest' to replace it by the nearest correlation matrix (Higham 2002)"
        )
    fixed = nearest_correlation(m)
    diff = np.abs(fixed - m)
    i, j = np.unravel_index(int(np.argmax(diff)), diff.shape)
    i, j = min(i, j), max(i, j)
    report: dict[str, object] = {
        "max_abs_change": float(diff[i, j]),
        "min_eigenvalue_before": w_min,
        "min_eigenvalue_after": float(np.linalg.eigvalsh(fixed)[0]),
        "pair": (names[i], names[j]),
        "pair_before": float(m[i, j]),
        "pair_after": float(fixed[i, j]),
    }
    return fixed, report


def correlation_from_frame(df: Any, names: Sequence[str]) -> np.ndarray:
    """The ``(n, n)`` matrix in ``names`` order from a table with an ``underlying`` column and one column per
    name (rows in any order; numeric strings are parsed); ValueError naming the row, field and value."""
    from riskgpu.io.tables import cell_float

    cols = list(df.columns)
    if "underlying" not in cols:
        raise ValueError("correlation table needs an 'underlying' column")
    extra = [c for c in cols if c != "underlying" and c not in names]
    missing = [n for n in names if n not in cols]
    if extra or missing:
        raise ValueError(
            f"correlation columns must be the underlyings {', '.join(names)}: "
            f"unknown {extra or 'none'}, missing {missing or 'none'}"
        )
    c = np.full((len(names), len(names)), np.nan)
    seen: dict[str, int] = {}
    for row, rec in enumerate(df.iter_rows(named=True), start=1):
        a = rec["underlying"]
        if a not in names:
            raise ValueError(f"row {row}, field underlying = {a!r}: not an underlying of the market")
        if a in seen:
            raise ValueError(f"row {row}, field underlying = {a!r}: repeats row {seen[a]}")
        seen[a] = row
        for j, b in enumerate(names):
            try:
                c[list(names).index(a), j] = cell_float(rec[b])
            except ValueError as exc:
                raise ValueError(f"row {row} ({a}), field {b} = {rec[b]!r}: {exc}") from None
    absent = [n for n in names if n not in seen]
    if absent:
        raise ValueError(f"correlation table has no row for {', '.join(absent)}")
    return c
