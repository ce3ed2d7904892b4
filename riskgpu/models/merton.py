"""Merton (1976) jump diffusion on one asset.

Convention (DESIGN.md section 2, QuantLib's Merton76Process): jumps arrive at rate ``lam``;
``log(1 + J) ~ N(jump_mean, jump_std**2)``; the drift is compensated by ``lam * k``,
``k = E[J] = exp(jump_mean + jump_std**2 / 2) - 1``, so the discounted spot is a martingale.

The step is exact in distribution. It reads three normals: ``z0`` the diffusion, ``z1`` the jump
count (``N = F^-1(Phi(z1))`` for the Poisson(``lam dt``) law, by sequential search on the tail
``1 - Phi(z1) = erfc(z1 / sqrt 2) / 2``; the search stops when the running tail ``P(N > n)`` falls
to its own rounding level ``16 eps P(N > 0)``, so float32 rounding cannot run it on; at most
``MAX_JUMPS`` jumps a step, with ``lam dt <= MAX_LAM_DT`` enforced) and ``z2`` the jump sizes
(given ``N``, their sum is ``N jump_mean + sqrt(N) jump_std z2``)::

    x += (rate - div - lam k - vol**2/2) dt + vol sqrt(dt) z0 + N jump_mean + sqrt(N) jump_std z2

The step's log variance handed to products is the diffusion's ``vol**2 dt``. Oracle: the series
price (``riskgpu.analytic.merton_price``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy.special import erfc

from riskgpu._checks import finite

#: Cap on jumps in one step; ``lam * dt`` may not exceed ``MAX_LAM_DT`` (P(N > 64) < 1e-27 there).
MAX_JUMPS = 64
MAX_LAM_DT = 10.0
#: Largest ``jump_mean + jump_std**2 / 2`` (E[1 + J] = e^50 is already absurd; beyond, it overflows).
MAX_LOG_JUMP = 50.0


@njit(inline="always")
def _init(mp):  # pragma: no cover - compiled
    return (mp[0] - mp[0],)


@njit(inline="always")
def _step(state, z0, z1, z2, mp):  # pragma: no cover - compiled
    drift, vsq, var, lam_dt, p0, tail0, jm, js, half, inv_sqrt2, floor = (
        mp[1],
        mp[2],
        mp[3],
        mp[4],
        mp[5],
        mp[6],
        mp[7],
        mp[8],
        mp[9],
        mp[10],
        mp[11],
    )
    u_tail = half * math.erfc(z1 * inv_sqrt2)  # 1 - U, U = Phi(z1)
    n = var - var
    p = p0
    tail = tail0  # P(N > n)
    k = 0
    while tail > u_tail and tail > floor and k < MAX_JUMPS:
        k += 1
        n = n + half + half
        p = p * lam_dt / n
        tail = tail - p
    x = state[0] + drift + vsq * z0 + (n * jm + math.sqrt(n) * js * z2)
    return (x,), var


@dataclass(frozen=True, kw_only=True)
class Merton:
    """Merton jump diffusion ``dS/S = (rate - div - lam k) dt + vol dW + dJ`` (see the module).

    Parameters
    ----------
    spot : > 0.  vol : diffusion volatility >= 0.  rate, div : flat, continuous.
    lam : jump intensity per year >= 0.  jump_mean, jump_std : mean and std (>= 0) of ``log(1 + J)``.
    """

    spot: float
    vol: float
    rate: float
    div: float = 0.0
    lam: float = 0.0
    jump_mean: float = 0.0
    jump_std: float = 0.0

    n_assets = 1
    slots = 3
    kernel_id = "merton"

    def __post_init__(self) -> None:
        object.__setattr__(self, "spot", finite("Merton", "spot", self.spot, min_value=0.0, strict=True))
        object.__setattr__(self, "vol", finite("Merton", "vol", self.vol, min_value=0.0))
        object.__setattr__(self, "rate", finite("Merton", "rate", self.rate))
        object.__setattr__(self, "div", finite("Merton", "div", self.div))
        object.__setattr__(self, "lam", finite("Merton", "lam", self.lam, min_value=0.0))
        object.__setattr__(self, "jump_mean", finite("Merton", "jump_mean", self.jump_mean))
        object.__setattr__(self, "jump_std", finite("Merton", "jump_std", self.jump_std, min_value=0.0))
        if self.jump_mean + 0.5 * self.jump_std**2 > MAX_LOG_JUMP:
            raise ValueError(
                f"Merton.jump_mean={self.jump_mean!r} with Merton.jump_std={self.jump_std!r} gives "
                f"E[1 + J] = exp({self.jump_mean + 0.5 * self.jump_std**2:g}): jump_mean + jump_std**2/2 must be "
                f"<= {MAX_LOG_JUMP:g}"
            )

    def check_step(self, dt: float) -> None:
        """At most ``MAX_JUMPS`` jumps are drawn a step: ``lam * dt`` must stay <= ``MAX_LAM_DT``."""
        if self.lam * dt > MAX_LAM_DT:
            need = math.ceil(self.lam * dt / MAX_LAM_DT)
            raise ValueError(
                f"Merton.lam * dt = {self.lam:g} * {dt:g} = {self.lam * dt:g} jumps a step exceeds {MAX_LAM_DT:g} "
                f"(at most {MAX_JUMPS} jumps are drawn a step): use at least {need}x as many steps (n_steps)"
            )

    @property
    def spots(self) -> np.ndarray:
        """``(1,)`` float64 array of the spot."""
        return np.array([self.spot])

    @property
    def jump_compensator(self) -> float:
        """``k = E[J] = exp(jump_mean + jump_std**2 / 2) - 1``."""
        return math.expm1(self.jump_mean + 0.5 * self.jump_std**2)

    @staticmethod
    def kernel_functions() -> tuple:
        """``(init, step)`` of the fused kernels; state ``(x,)``."""
        return _init, _step

    def kernel_params(self, dt: float, dtype: np.dtype) -> tuple:
        """``(spot, drift dt, vol sqrt(dt), vol**2 dt, lam dt, exp(-lam dt), 1 - exp(-lam dt), jump_mean,
        jump_std, 1/2, 1/sqrt(2), floor)`` in ``dtype``; ``floor = 16 eps (1 - exp(-lam dt))``."""
        self.check_step(dt)
        drift = (self.rate - self.div - self.lam * self.jump_compensator - 0.5 * self.vol**2) * dt
        vsq = self.vol * math.sqrt(dt)
        lam_dt = self.lam * dt
        vals = (
            self.spot,
            drift,
            vsq,
            vsq * vsq,
            lam_dt,
            math.exp(-lam_dt),
            -math.expm1(-lam_dt),
            self.jump_mean,
            self.jump_std,
            0.5,
            1.0 / math.sqrt(2.0),
            16.0 * float(np.finfo(dtype).eps) * -math.expm1(-lam_dt),
        )
        return tuple(dtype.type(v) for v in vals)

    def paths_np(self, z: np.ndarray, *, dt: float, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        """Reference twin: ``z`` ``(n, n_steps, 3)`` -> spots ``(n, n_steps + 1, 1)``, var ``(n, n_steps, 1)``."""
        n_paths, n_steps, _ = z.shape
        spot, drift, vsq, var, lam_dt, p0, tail0, jm, js, half, inv_sqrt2, floor = self.kernel_params(dt, dtype)
        out = np.empty((n_paths, n_steps + 1, 1), dtype=dtype)
        out[:, 0, 0] = spot
        x = np.zeros(n_paths, dtype=dtype)
        for s in range(n_steps):
            u_tail = half * erfc(z[:, s, 1] * inv_sqrt2).astype(dtype)
            n = np.zeros(n_paths, dtype=dtype)
            p = np.full(n_paths, p0, dtype=dtype)
            tail = np.full(n_paths, tail0, dtype=dtype)
            for k in range(1, MAX_JUMPS + 1):
                more = (tail > u_tail) & (tail > floor)
                if not more.any():
                    break
                nk = dtype.type(k)
                p = np.where(more, p * lam_dt / nk, p)
                tail = np.where(more, tail - p, tail)
                n = np.where(more, nk, n)
            x = x + drift + vsq * z[:, s, 0] + (n * jm + np.sqrt(n) * js * z[:, s, 2])
            out[:, s + 1, 0] = spot * np.exp(x)
        return out, np.full((n_paths, n_steps, 1), var, dtype=dtype)
