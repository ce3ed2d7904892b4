"""Heston stochastic volatility: full-truncation Euler in log space, or Andersen's QE scheme.

``dS/S = (rate - div) dt + sqrt(v) dW_S``, ``dv = kappa (theta - v) dt + xi sqrt(v) dW_v``,
``d<W_S, W_v> = rho dt``. Two normals per step: ``z0`` drives the variance, ``z1`` the independent part
of the spot.

``scheme="euler"`` (full truncation, Lord et al. 2010), with ``v+ = max(v, 0)``::

    x += (rate - div - v+/2) dt + sqrt(v+ dt) (rho z0 + sqrt(1 - rho^2) z1)
    v += kappa (theta - v+) dt + xi sqrt(v+ dt) z0

``scheme="qe"`` (Andersen 2008, quadratic-exponential with ``psi_c = 1.5``, ``gamma1 = gamma2 = 1/2``,
no martingale correction): with ``m, s^2`` the exact conditional mean and variance of ``v(t + dt)`` and
``psi = s^2 / m^2``; if ``psi <= 1.5`` then ``v' = a (b + z0)^2``, else ``v' = 0`` when
``U <= p`` and ``log((1 - p) / (1 - U)) / beta`` otherwise, where ``U = Phi(z0)`` is computed through
``erfc`` (so a step still reads two normals); then
``x += (rate - div) dt + K0 + K1 v + K2 v' + sqrt(K3 v + K4 v') z1``.

The step's log variance handed to products (for the Brownian-bridge barrier weight) is ``v+ dt``
(Euler) and ``(v + v') dt / 2`` (QE). Oracle: the characteristic-function price
(``riskgpu.analytic.heston_price``) within a discretisation allowance measured by halving dt.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import erfc

from riskgpu._checks import choice, finite

SCHEMES = ("euler", "qe")
#: Andersen's switching level between the quadratic and exponential branches.
PSI_C = 1.5


@njit(inline="always")
def _init(mp):  # pragma: no cover - compiled
    return (mp[0] - mp[0], mp[1])


@njit(inline="always")
def _step_euler(state, z0, z1, z2, mp):  # pragma: no cover - compiled
    x, v = state
    mu_dt, dt, kdt, theta, xi, rho, rhob = mp[2], mp[3], mp[4], mp[5], mp[6], mp[7], mp[8]
    half = mp[9]
    vp = max(v, v - v)
    sq = math.sqrt(vp * dt)
    x_new = x + (mu_dt - half * vp * dt) + sq * (rho * z0 + rhob * z1)
    v_new = v + kdt * (theta - vp) + xi * sq * z0
    return (x_new, v_new), vp * dt


@njit(inline="always")
def _step_qe(state, z0, z1, z2, mp):  # pragma: no cover - compiled
    x, v = state
    mu_dt, e, theta, c1, c2 = mp[2], mp[3], mp[4], mp[5], mp[6]
    k0, k1, k2, k3, k4 = mp[7], mp[8], mp[9], mp[10], mp[11]
    half, one, two, psi_c, inv_sqrt2, dt = mp[12], mp[13], mp[14], mp[15], mp[16], mp[17]
    zero = v - v
    m = theta + (v - theta) * e
    s2 = v * c1 + c2
    if s2 <= zero:
        v_new = m
    else:
        psi = s2 / (m * m)
        if psi <= psi_c:
            t = two / psi
            b2 = t - one + math.sqrt(t) * math.sqrt(t - one)
            a = m / (one + b2)
            b = math.sqrt(b2) + z0
            v_new = a * b * b
        else:
            p = (psi - one) / (psi + one)
            tail = half * math.erfc(z0 * inv_sqrt2)  # 1 - U, U = Phi(z0)
            v_new = zero if tail >= one - p else math.log((one - p) / tail) * m / (one - p)
    x_new = x + mu_dt + k0 + k1 * v + k2 * v_new + math.sqrt(k3 * v + k4 * v_new) * z1
    return (x_new, v_new), half * (v + v_new) * dt


@dataclass(frozen=True, kw_only=True)
class Heston:
    """Heston model on one asset, discretised by ``scheme`` (``"euler"`` or ``"qe"``, see the module).

    Parameters
    ----------
    spot : > 0.  v0 : initial variance >= 0.  kappa : mean reversion >= 0.  theta : long variance >= 0.
    xi : vol of variance >= 0.  rho : spot/variance correlation in [-1, 1].  rate, div : flat, continuous.
    """

    spot: float
    v0: float
    kappa: float
    theta: float
    xi: float
    rho: float
    rate: float
    div: float = 0.0
    scheme: str = "qe"

    n_assets = 1
    slots = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "spot", finite("Heston", "spot", self.spot, min_value=0.0, strict=True))
        for name in ("v0", "kappa", "theta", "xi"):
            object.__setattr__(self, name, finite("Heston", name, getattr(self, name), min_value=0.0))
        rho = finite("Heston", "rho", self.rho)
        if not -1.0 <= rho <= 1.0:
            raise ValueError(f"Heston.rho must lie in [-1, 1], got {self.rho!r}")
        object.__setattr__(self, "rho", rho)
        object.__setattr__(self, "rate", finite("Heston", "rate", self.rate))
        object.__setattr__(self, "div", finite("Heston", "div", self.div))
        object.__setattr__(self, "scheme", choice("Heston", "scheme", self.scheme, SCHEMES))

    @property
    def kernel_id(self) -> tuple[str, str]:
        """Kernels are compiled per scheme."""
        return ("heston", self.scheme)

    @property
    def spots(self) -> np.ndarray:
        """``(1,)`` float64 array of the spot."""
        return np.array([self.spot])

    def kernel_functions(self) -> tuple:
        """``(init, step)`` of the fused kernels; state ``(x, v)``."""
        return _init, (_step_qe if self.scheme == "qe" else _step_euler)

    def _qe_coefficients(self, dt: float) -> tuple[float, ...]:
        k, th, xi, rho = self.kappa, self.theta, self.xi, self.rho
        e = math.exp(-k * dt)
        h = -math.expm1(-k * dt)  # 1 - e
        g = h / k if k > 0 else dt  # (1 - e) / kappa
        c1 = xi * xi * e * g
        c2 = 0.5 * th * xi * xi * h * g
        r = rho / xi if xi > 0 else 0.0  # xi = 0: the variance is deterministic, rho plays no part
        rb2 = 1.0 - rho * rho if xi > 0 else 1.0
        k0 = -r * k * th * dt
        k1 = 0.5 * dt * (k * r - 0.5) - r
        k2 = 0.5 * dt * (k * r - 0.5) + r
        return e, th, c1, c2, k0, k1, k2, 0.5 * dt * rb2, 0.5 * dt * rb2

    def kernel_params(self, dt: float, dtype: np.dtype) -> tuple:
        """The step's constants in ``dtype`` (``mp[0]`` the spot, ``mp[1]`` v0; see the step functions)."""
        mu_dt = (self.rate - self.div) * dt
        if self.scheme == "euler":
            rhob = math.sqrt(max(1.0 - self.rho * self.rho, 0.0))
            vals = (self.spot, self.v0, mu_dt, dt, self.kappa * dt, self.theta, self.xi, self.rho, rhob, 0.5)
        else:
            consts = (0.5, 1.0, 2.0, PSI_C, 1.0 / math.sqrt(2.0), dt)
            vals = (self.spot, self.v0, mu_dt, *self._qe_coefficients(dt), *consts)
        return tuple(dtype.type(v) for v in vals)

    def paths_np(self, z: np.ndarray, *, dt: float, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Reference twin: ``z`` ``(n, n_steps, 2)`` -> spots ``(n, n_steps + 1, 1)``, var ``(n, n_steps, 1)``.

        Same arithmetic order as the kernels, vectorised over paths.
        """
        n, n_steps, _ = z.shape
        mp = self.kernel_params(dt, dtype)
        out = np.empty((n, n_steps + 1, 1), dtype=dtype)
        var = np.empty((n, n_steps, 1), dtype=dtype)
        out[:, 0, 0] = mp[0]
        x = np.zeros(n, dtype=dtype)
        v = np.full(n, mp[1], dtype=dtype)
        step = self._step_np_qe if self.scheme == "qe" else self._step_np_euler
        for s in range(n_steps):
            x, v, var[:, s, 0] = step(x, v, z[:, s, 0], z[:, s, 1], mp)
            out[:, s + 1, 0] = mp[0] * np.exp(x)
        return out, var

    @staticmethod
    def _step_np_euler(x, v, z0, z1, mp):
        mu_dt, dt, kdt, theta, xi, rho, rhob, half = mp[2:10]
        vp = np.maximum(v, v - v)
        sq = np.sqrt(vp * dt)
        x_new = x + (mu_dt - half * vp * dt) + sq * (rho * z0 + rhob * z1)
        v_new = v + kdt * (theta - vp) + xi * sq * z0
        return x_new, v_new, vp * dt

    @staticmethod
    def _step_np_qe(x, v, z0, z1, mp):
        mu_dt, e, theta, c1, c2, k0, k1, k2, k3, k4 = mp[2:12]
        half, one, two, psi_c, inv_sqrt2, dt = mp[12:18]
        zero = v - v
        m = theta + (v - theta) * e
        s2 = v * c1 + c2
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            psi = s2 / (m * m)
            t = two / psi
            b2 = t - one + np.sqrt(t) * np.sqrt(t - one)
            a = m / (one + b2)
            b = np.sqrt(b2) + z0
            quad = a * b * b
            p = (psi - one) / (psi + one)
            tail = half * erfc(z0 * inv_sqrt2).astype(v.dtype)
            expo = np.where(tail >= one - p, zero, np.log((one - p) / tail) * m / (one - p))
        v_new = np.where(s2 <= zero, m, np.where(psi <= psi_c, quad, expo))
        x_new = x + mu_dt + k0 + k1 * v + k2 * v_new + np.sqrt(k3 * v + k4 * v_new) * z1
        return x_new, v_new, half * (v + v_new) * dt
