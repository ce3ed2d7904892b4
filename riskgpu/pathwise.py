"""Pathwise and likelihood-ratio Greeks on stored GBM paths (``rg.greeks(method="pathwise" | "lr")``).

Both estimators are averages over the same paths as the base price (same seed, stream, counters and
normal layout, ``riskgpu.backends.reference.path_data``), accumulated per tile of ``TILE`` samples so
the standard errors come from independent tiles exactly as for the bumped Greeks.

Pathwise (European, Asian, lookback, basket: payoffs Lipschitz in the path). Under GBM every path point
has an exact tangent: ``dS(t)/dS0 = S(t)/S0``, ``dS(t)/dvol = S(t) (W(t) - vol t)`` (``W`` rebuilt from
the path's own normals, correlated by the Cholesky factor), ``dS(t)/dr = t S(t)``. The payoff's derivative
along that tangent is taken on each stored path by a central difference of relative size ``EPS = 1e-6``
in float64, which is the exact pathwise derivative for these piecewise-linear payoffs except on the
paths within ``EPS`` of a kink (a bias of order ``EPS**2``). Discounting adds ``-T V`` to rho.

Likelihood ratio (single-asset GBM, any payoff, ``vol > 0``). With the step normals ``Z_i`` of the path
(``dt`` the step) the scores are ``Z_1 / (S0 vol sqrt(dt))`` (delta),
``sum_i ((Z_i**2 - 1) / vol - Z_i sqrt(dt))`` (vega), ``sum_i Z_i sqrt(dt) / vol`` (rho) and
``((Z_1**2 - 1) / (S0 vol)**2 / dt - Z_1 / (S0**2 vol sqrt(dt)))`` (gamma). The payoff's explicit
dependence on the parameters (today's spot as a path point and barrier level, the step variance of the
Brownian-bridge corrections, the rate in rebates) is added by central differences with the path held
fixed, so continuous monitoring is covered too. Only the first step carries spot information, so the
delta and gamma variances grow with ``1 / dt``: these are for one-step digitals, and barriers' deltas.

The path arithmetic is the reference backend's (numpy); on the gpu backend the estimator arithmetic runs
on CuPy (``xp``). Tested against Black-Scholes Greeks, differences of the closed-form digital and barrier
prices and bump-and-revalue on shared paths (baskets), within k standard errors.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from types import ModuleType

import numpy as np

from riskgpu.backends.job import tile_totals
from riskgpu.backends.reference import BATCH_ELEMENTS, payoffs
from riskgpu.kernels import TILE
from riskgpu.rng import normals_np

#: Relative size of the directional differences of the payoff (float64 paths).
EPS = 1e-6
#: Relative spot step of the explicit second derivative in the likelihood-ratio gamma.
EPS_GAMMA = 1e-4
#: Greeks each estimator provides.
PATHWISE_GREEKS = ("delta", "vega", "rho")
LR_GREEKS = ("delta", "gamma", "vega", "rho")


def is_gbm(model: object) -> bool:
    """True for a riskgpu GBM (the only model with exact path tangents here)."""
    from riskgpu.models import GBM

    return isinstance(model, GBM)


def pathwise_reason(product: object, model: object) -> str | None:
    """Why the pathwise estimator does not apply to ``(product, model)``, or None when it does."""
    from riskgpu.products import Asian, Basket, European, Lookback

    if not is_gbm(model):
        return f"needs a GBM model, got {type(model).__name__}"
    if not isinstance(product, (European, Asian, Lookback, Basket)):
        return (
            f"needs a payoff continuous in the path (European, Asian, Lookback, Basket), got "
            f"{type(product).__name__}: use method='lr' or 'bump'"
        )
    if isinstance(product, Asian) and product.barrier is not None:
        return "needs a payoff continuous in the path; an Asian with a knock-out barrier is not: use 'lr' or 'bump'"
    return None


def lr_reason(product: object, model: object) -> str | None:
    """Why the likelihood-ratio estimator does not apply, or None when it does."""
    if not is_gbm(model):
        return f"needs a GBM model, got {type(model).__name__}"
    if model.n_assets != 1:
        return f"is single-asset here; the model has {model.n_assets} assets"
    if float(model.vol) <= 0:
        return f"needs vol > 0, got vol={float(model.vol)}"
    return None


def shifted(model: object, field: str, moves: dict[int, float]) -> object:
    """``model`` with ``field[i] += moves[i]`` (a per-asset field: spot, vol); a scalar stays a scalar on a
    one-asset model. The bumps of ``riskgpu.greeks`` and the tangents here."""
    values = [float(v) for v in np.atleast_1d(getattr(model, field))]
    values = values * model.n_assets if len(values) == 1 else values
    for i, d in moves.items():
        values[i] += d
    return dataclasses.replace(model, **{field: values[0] if model.n_assets == 1 else tuple(values)})


def _payoff(job: object, model: object, spots, var, w, times: np.ndarray, xp: ModuleType):  # noqa: ANN001, ANN202
    return payoffs(job.product, model, (spots, var, w), times, xp).astype(xp.float64)


def _central(step: Callable[[float], object], h: float, scale: float = 1.0) -> object:
    """``scale (step(+1) - step(-1)) / 2h``: a central difference whose ``step(sign)`` moves by ``sign * h``."""
    return scale * (step(1.0) - step(-1.0)) / (2 * h)


def _with(arr: object, a: int, new: object) -> object:
    """A copy of ``arr`` ``(n, m, n_assets)`` with asset ``a``'s slice replaced by ``new``."""
    arr = arr.copy()
    arr[:, :, a] = new
    return arr


def _pathwise(
    job: object, which: tuple[str, ...], z: object, spots: object, var: object, w: object, xp: ModuleType
) -> dict:
    """Per-sample discounted pathwise delta, vega (lists per asset) and rho for one sign of the normals.

    ``z`` ``(n, n_steps, slots)`` signed normals, ``spots`` ``(n, n_steps + 1, n_assets)`` float64.
    """
    model, t_mat, disc, dt = job.model, job.product.maturity, job.disc, job.dt
    times = np.linspace(0.0, t_mat, job.n_steps + 1)
    t = xp.asarray(times)
    n_a = model.n_assets
    s0 = [float(s) for s in model.spots]
    vols = [float(v) for v in model.vols]
    out: dict[str, object] = {}
    if "delta" in which:

        def delta(a: int) -> object:
            def step(sg: float) -> object:
                moved = _with(spots, a, spots[:, :, a] * (1 + sg * EPS))
                return _payoff(job, shifted(model, "spot", {a: sg * EPS * s0[a]}), moved, var, w, times, xp)

            return _central(step, EPS * s0[a], disc)

        out["delta"] = [delta(a) for a in range(n_a)]
    if "vega" in which:
        zc = z[:, :, :n_a] @ xp.asarray(model.cholesky.T) if n_a > 1 else z[:, :, :1]
        brown = xp.concatenate([xp.zeros_like(zc[:, :1, :]), xp.cumsum(zc, axis=1) * math.sqrt(dt)], axis=1)

        def vega(a: int) -> object:
            tangent = spots[:, :, a] * (brown[:, :, a] - vols[a] * t)

            def step(sg: float) -> object:
                moved = _with(spots, a, spots[:, :, a] + sg * EPS * tangent)
                return _payoff(job, model, moved, _with(var, a, (vols[a] + sg * EPS) ** 2 * dt), w, times, xp)

            return _central(step, EPS, disc)

        out["vega"] = [vega(a) for a in range(n_a)]
    if "rho" in which:
        r = float(model.rate)
        grow = xp.exp(EPS * t)[None, :, None]

        def step(sg: float) -> object:
            moved = spots * grow if sg > 0 else spots / grow
            return _payoff(job, dataclasses.replace(model, rate=r + sg * EPS), moved, var, w, times, xp)

        out["rho"] = _central(step, EPS, disc) - t_mat * disc * _payoff(job, model, spots, var, w, times, xp)
    return out


def _likelihood_ratio(
    job: object, which: tuple[str, ...], z: object, spots: object, var: object, w: object, xp: ModuleType
) -> dict:
    """Per-sample discounted likelihood-ratio delta, gamma, vega and rho (single asset), shapes as
    ``_pathwise``; the payoff's explicit dependence on each parameter by central differences, path fixed."""
    model, t_mat, disc, dt = job.model, job.product.maturity, job.disc, job.dt
    times = np.linspace(0.0, t_mat, job.n_steps + 1)
    f = _payoff(job, model, spots, var, w, times, xp)
    vol, s, r = float(model.vols[0]), float(model.spots[0]), float(model.rate)
    zz = z[:, :, 0]
    sq = math.sqrt(dt)
    out: dict[str, object] = {}
    if "delta" in which or "gamma" in which:
        score = zz[:, 0] / (s * vol * sq)

        def explicit(h: float) -> object:  # payoff with today's spot moved, later points fixed
            moved = spots.copy()
            moved[:, 0, 0] = s + h
            return _payoff(job, shifted(model, "spot", {0: h}), moved, var, w, times, xp)

        h = EPS * s
        e1 = _central(lambda sg: explicit(sg * h), h)
        if "delta" in which:
            out["delta"] = [disc * (f * score + e1)]
        if "gamma" in which:
            hg = EPS_GAMMA * s
            e2 = (explicit(hg) - 2 * f + explicit(-hg)) / hg**2
            z1 = zz[:, 0]
            weight = (z1 * z1 - 1) / (s * vol) ** 2 / dt - z1 / (s * s * vol * sq)
            out["gamma"] = disc * (f * weight + 2 * e1 * score + e2)
    if "vega" in which:
        score = ((zz * zz - 1) / vol - zz * sq).sum(axis=1)
        e = _central(
            lambda sg: _payoff(job, model, spots, xp.full_like(var, (vol + sg * EPS) ** 2 * dt), w, times, xp), EPS
        )
        out["vega"] = [disc * (f * score + e)]
    if "rho" in which:
        score = zz.sum(axis=1) * sq / vol
        e = _central(
            lambda sg: _payoff(job, dataclasses.replace(model, rate=r + sg * EPS), spots, var, w, times, xp), EPS
        )
        out["rho"] = disc * (f * score + e) - t_mat * disc * f
    return out


def tile_sums(job: object, which: tuple[str, ...], method: str, xp: ModuleType = np) -> dict[str, list[np.ndarray]]:
    """Per-tile sums of each Greek's per-sample estimate (antithetic pairs averaged), float64.

    ``which`` the Greeks (``PATHWISE_GREEKS`` or ``LR_GREEKS``), ``method`` ``"pathwise"`` or ``"lr"``.
    Returns ``{greek: [per-asset (n_tiles,) arrays]}`` (one entry for single-asset Greeks and gamma).
    """
    model, product = job.model, job.product
    n_slots = model.slots + product.slots
    per_sample = (job.n_steps + 1) * model.n_assets * 8
    batch = max(1, BATCH_ELEMENTS // (per_sample * TILE)) * TILE
    signs = (1.0, -1.0) if job.antithetic else (1.0,)
    sums: dict[str, list[list[np.ndarray]]] = {}
    for start in range(0, job.n_tiles * TILE, batch):
        stop = min(start + batch, job.n_samples)
        samples = np.arange(start, stop, dtype=np.uint64)
        normals = normals_np(job.n_steps * n_slots, samples, key=job.key, stream=job.stream, dtype=job.dtype)
        total: dict[str, list] = {}
        for sign in signs:
            z = normals.reshape(len(samples), job.n_steps, n_slots) * job.dtype.type(sign)
            spots, var = model.paths_np(z[:, :, : model.slots], dt=job.dt, dtype=job.dtype)
            w = z[:, :, model.slots] if product.slots else None
            arrays = [xp.asarray(a, dtype=xp.float64) if a is not None else None for a in (z, spots, var, w)]
            part = (_pathwise if method == "pathwise" else _likelihood_ratio)(job, which, *arrays, xp)
            for g, values in part.items():
                values = values if isinstance(values, list) else [values]
                total[g] = values if g not in total else [a + b for a, b in zip(total[g], values, strict=True)]
        for g, values in total.items():
            sums.setdefault(g, []).append([tile_totals(v / len(signs), xp) for v in values])
    return {g: [np.concatenate([b[a] for b in blocks]) for a in range(len(blocks[0]))] for g, blocks in sums.items()}
