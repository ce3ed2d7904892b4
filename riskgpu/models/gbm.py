"""Geometric Brownian motion, one asset or several correlated ones."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numba import njit

from riskgpu._checks import finite


def _as_vector(name: str, value: object, n: int | None, *, min_value: float, strict: bool) -> tuple[float, ...]:
    arr = np.atleast_1d(np.asarray(value, dtype=object))
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"GBM.{name} must be a number or a non-empty 1-d sequence, got {value!r}")
    if n is not None and arr.size not in (1, n):
        raise ValueError(f"GBM.{name} has {arr.size} entries but the model has {n} assets: {value!r}")
    out = tuple(
        finite("GBM", f"{name}[{i}]" if arr.size > 1 else name, v, min_value=min_value, strict=strict)
        for i, v in enumerate(arr)
    )
    return out * n if (n is not None and len(out) == 1) else out


def check_correlation(corr: object, n: int, *, tol: float = 1e-10) -> np.ndarray:
    """Validate an ``(n, n)`` correlation matrix; the error names the entry or the eigenvalue.

    Symmetric within ``tol``, unit diagonal, entries in [-1, 1], eigenvalues >= ``-tol``.
    """
    raw = np.asarray(corr)
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"GBM.corr must be a matrix of numbers, got {corr!r}")
    c = raw.astype(float)
    if c.shape != (n, n):
        raise ValueError(f"GBM.corr must have shape ({n}, {n}) for {n} assets, got shape {c.shape}")
    bad = np.argwhere(~np.isfinite(c))
    if bad.size:
        i, j = bad[0]
        raise ValueError(f"GBM.corr[{i}, {j}] must be finite, got {float(c[i, j])!r}")
    for i in range(n):
        if abs(c[i, i] - 1.0) > tol:
            raise ValueError(f"GBM.corr[{i}, {i}] must be 1 (unit diagonal), got {float(c[i, i])!r}")
    for i in range(n):
        for j in range(i + 1, n):
            if abs(c[i, j] - c[j, i]) > tol:
                raise ValueError(
                    f"GBM.corr is not symmetric: corr[{i}, {j}] = {float(c[i, j])!r} "
                    f"but corr[{j}, {i}] = {float(c[j, i])!r}"
                )
            if abs(c[i, j]) > 1.0 + tol:
                raise ValueError(f"GBM.corr[{i}, {j}] must lie in [-1, 1], got {float(c[i, j])!r}")
    w, v = np.linalg.eigh(c)
    if w[0] < -tol:
        raise ValueError(
            f"GBM.corr is not positive semi-definite: smallest eigenvalue {w[0]:.6g} "
            f"(eigenvector {np.round(v[:, 0], 4).tolist()})"
        )
    return c


def psd_cholesky(c: np.ndarray, *, tol: float = 1e-12) -> np.ndarray:
    """Lower-triangular L with L L^T = c for a positive semi-definite c (zero pivots allowed)."""
    n = c.shape[0]
    low = np.zeros_like(c)
    for j in range(n):
        d = c[j, j] - low[j, :j] @ low[j, :j]
        if d > tol:
            low[j, j] = np.sqrt(d)
            low[j + 1 :, j] = (c[j + 1 :, j] - low[j + 1 :, :j] @ low[j, :j]) / low[j, j]
    return low


@njit(inline="always")
def _init(mp):  # pragma: no cover - compiled
    """State ``(x,)``, ``x = log(S / spot)``, starting at exactly 0."""
    return (mp[0] - mp[0],)


@njit(inline="always")
def _step(state, z0, z1, z2, mp):  # pragma: no cover - compiled
    """One exact log-space step: ``x + drift dt + vol sqrt(dt) z0``; returns the state and ``vol**2 dt``."""
    return (state[0] + mp[1] + mp[2] * z0,), mp[3]


@dataclass(frozen=True, kw_only=True)
class GBM:
    """Risk-neutral geometric Brownian motion ``dS/S = (rate - div) dt + vol dW``.

    Parameters
    ----------
    spot : float or sequence of floats (> 0), one per asset.
    vol : float or sequence (>= 0): flat volatility per asset.
    rate : float: the continuously compounded risk-free rate (one currency).
    div : float or sequence: continuous dividend yield per asset.
    corr : ``(n, n)`` correlation matrix for several assets (identity if omitted).

    The step is exact in log space: ``x += (rate - div - vol**2/2) dt + vol sqrt(dt) z``.
    Tested against Black-Scholes (closed form) and, for several assets, the sample correlation.
    """

    spot: float | tuple[float, ...]
    vol: float | tuple[float, ...]
    rate: float
    div: float | tuple[float, ...] = 0.0
    corr: object = None
    _chol: np.ndarray = field(init=False, repr=False, compare=False)

    kernel_id = "gbm"

    def __post_init__(self) -> None:
        spot = _as_vector("spot", self.spot, None, min_value=0.0, strict=True)
        n = len(spot)
        object.__setattr__(self, "spot", spot if n > 1 else spot[0])
        vol = _as_vector("vol", self.vol, n, min_value=0.0, strict=False)
        div = _as_vector("div", self.div, n, min_value=-np.inf, strict=False)
        object.__setattr__(self, "vol", vol if n > 1 else vol[0])
        object.__setattr__(self, "div", div if n > 1 else div[0])
        object.__setattr__(self, "rate", finite("GBM", "rate", self.rate))
        if self.corr is None:
            c = np.eye(n)
        else:
            c = check_correlation(self.corr, n)
        c.setflags(write=False)
        object.__setattr__(self, "corr", None if self.corr is None else tuple(map(tuple, c.tolist())))
        low = psd_cholesky(c)
        low.setflags(write=False)
        object.__setattr__(self, "_chol", low)

    @property
    def n_assets(self) -> int:
        """Number of assets."""
        return len(self.spots)

    @property
    def spots(self) -> np.ndarray:
        """Spots as a float64 array of shape ``(n_assets,)``."""
        return np.atleast_1d(np.asarray(self.spot, dtype=float))

    @property
    def vols(self) -> np.ndarray:
        """Volatilities, shape ``(n_assets,)``."""
        return np.broadcast_to(np.asarray(self.vol, dtype=float), self.spots.shape).copy()

    @property
    def divs(self) -> np.ndarray:
        """Dividend yields, shape ``(n_assets,)``."""
        return np.broadcast_to(np.asarray(self.div, dtype=float), self.spots.shape).copy()

    @property
    def cholesky(self) -> np.ndarray:
        """Lower-triangular factor of the correlation matrix, shape ``(n_assets, n_assets)``."""
        return self._chol

    @property
    def slots(self) -> int:
        """Normals per step: one per asset (dimension ``step * n_assets + asset``)."""
        return self.n_assets

    @staticmethod
    def kernel_functions() -> tuple:
        """``(init, step)`` of the fused kernels (single asset)."""
        return _init, _step

    def kernel_params(self, dt: float, dtype: np.dtype) -> tuple:
        """``(spot, drift * dt, vol * sqrt(dt), vol**2 * dt)`` of a single-asset model, in ``dtype``.

        The kernels' state is ``x = log(S / spot)``, starting at exactly 0, and ``S = spot * exp(x)``:
        no log/exp round trip of the spot, so zero maturity and zero volatility give exact limits.
        """
        if self.n_assets != 1:
            raise ValueError(f"this product needs a single-asset model; the GBM has {self.n_assets} assets")
        drift, vsq = self.step_coefficients(dt)
        return tuple(dtype.type(v) for v in (self.spots[0], drift[0], vsq[0], vsq[0] * vsq[0]))

    def basket_params(self, dt: float, dtype: np.dtype) -> tuple:
        """Flat ``(spots[n], drift dt[n], vol sqrt(dt)[n], cholesky[n * n] row-major)`` in ``dtype``."""
        drift, vsq = self.step_coefficients(dt)
        return tuple(dtype.type(v) for v in (*self.spots, *drift, *vsq, *self.cholesky.ravel()))

    def step_coefficients(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """Per-asset ``(drift * dt, vol * sqrt(dt))`` of the log-space step, float64."""
        v = self.vols
        return (self.rate - self.divs - 0.5 * v * v) * dt, v * np.sqrt(dt)

    def paths_np(self, z: np.ndarray, *, dt: float, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Reference twin of the kernels' step over stored normals.

        ``z`` ``(n_paths, n_steps, n_assets)`` (already signed) -> spots ``(n_paths, n_steps + 1, n_assets)``
        and the steps' log variances ``(n_paths, n_steps, n_assets)``. Same arithmetic order as the
        kernels: correlate by the Cholesky factor, then ``x <- (x + drift dt) + vol sqrt(dt) z``.
        """
        n_paths, n_steps, _ = z.shape
        if self.n_assets > 1:
            z = z @ self.cholesky.T.astype(dtype)
        drift64, vsq64 = self.step_coefficients(dt)
        drift, vsq = drift64.astype(dtype), vsq64.astype(dtype)
        spot = self.spots.astype(dtype)
        out = np.empty((n_paths, n_steps + 1, self.n_assets), dtype=dtype)
        out[:, 0, :] = spot
        x = np.zeros((n_paths, self.n_assets), dtype=dtype)
        for s in range(n_steps):
            x = x + drift + vsq * z[:, s, :]
            out[:, s + 1, :] = spot * np.exp(x)
        var = np.broadcast_to((vsq64 * vsq64).astype(dtype), (n_paths, n_steps, self.n_assets))
        return out, var
