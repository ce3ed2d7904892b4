"""Greeks: pathwise, likelihood-ratio (``riskgpu.pathwise``) and bump-and-revalue with common random numbers.

Every bumped price reuses the base run's seed, stream and counters, so path ``i`` of each run draws the
same normals and the central differences cancel most of the Monte Carlo noise. Standard errors come
from the tiles: each whole tile (32 samples, identical paths in every run) gives one estimate of the
Greek from its partial sums, and the tiles are independent, so ``stderr = sd(tile estimates) /
sqrt(n_tiles)``. The pathwise and likelihood-ratio estimators use the same paths and the same tiles.

``method="auto"`` picks per Greek: on a GBM, pathwise delta, vega and rho for payoffs continuous in the
path (European, Asian without barrier, lookback, basket); likelihood-ratio delta, vega and rho for
digitals (and LR gamma for one-step digitals) and LR rho for barriers; bump-and-revalue for everything
else (gamma and theta of the rest, barrier delta, gamma and vega, Heston and Merton). The choice follows
``benchmarks/greeks_methods.py``: where LR's single first-step score loses to bumping on shared paths
(barrier delta and vega), auto bumps. ``method="pathwise"`` or ``"lr"`` forces that
estimator for the Greeks it has (pathwise: delta, vega, rho; LR: delta, gamma, vega, rho) and is an
error where it does not apply; the others (theta; gamma under pathwise) are bumped. ``methods[g]`` in
the result says which was used.

Bumps (central differences, bias O(h^2)): spot ``h = 1%`` of the spot (delta, gamma), volatility
``0.01`` absolute (vega; GBM and Merton diffusion vol), rate ``1e-3`` (rho; drift and discounting),
maturity ``1/365`` year (theta ``= (V(T - h) - V(T + h)) / 2h``, forward difference when ``T < 2h``).
Units as ``bs_greeks``: vega and rho per 1.00 change, theta per year of calendar time.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from riskgpu import exactsum
from riskgpu import pathwise as _pw
from riskgpu._checks import choice
from riskgpu.api import PriceResult, combine, make_job
from riskgpu.backends import array_module, to_host
from riskgpu.backends import module as _backend_module
from riskgpu.backends import resolve as _resolve
from riskgpu.backends.job import tile_counts, tile_totals
from riskgpu.kernels import TILE

GREEKS = ("delta", "gamma", "vega", "rho", "theta")
METHODS = ("auto", "bump", "pathwise", "lr")
BUMP = {"spot": 0.01, "vol": 0.01, "rate": 1e-3, "maturity": 1.0 / 365.0}


@dataclass(frozen=True)
class GreeksResult:
    """Price and Greeks: ``values[g]``, ``stderrs[g]`` and ``methods[g]`` for each requested Greek ``g``.

    On an ``n``-asset model ``delta`` and ``vega`` are lists (one per asset) and ``gamma`` an ``n x n``
    list of lists (the cross-gammas off the diagonal).
    """

    price: PriceResult
    values: dict[str, object]
    stderrs: dict[str, object]
    methods: dict[str, str]
    bumps: dict[str, float]

    def to_dict(self) -> dict:
        """Plain dict (JSON-ready)."""
        return {**dataclasses.asdict(self), "price": self.price.to_dict()}


def _tile_payoff_sums(job: object, name: str) -> np.ndarray:
    """Per-tile sums of the discounted payoff (the centring shift added back), float64."""
    return job.payoff_sums(_backend_module(name).tile_sums(job, 0, job.n_tiles)[0])


def _estimate(weights: list[float], tile_sums: list[np.ndarray], counts: np.ndarray) -> tuple[float, float]:
    """Value and stderr of ``sum_k w_k V_k`` from per-tile sums of each run on the same paths."""
    per_tile = sum(w * s for w, s in zip(weights, tile_sums, strict=True))
    value = float(exactsum.fsum(per_tile) / counts.sum())
    full = counts == TILE
    if full.sum() < 2:
        return value, math.nan
    means = per_tile[full] / TILE
    return value, float(np.std(means, ddof=1) / math.sqrt(full.sum()))


def resolve_methods(product: object, model: object, which: tuple[str, ...], method: str, n_steps: int) -> dict:
    """The estimator each requested Greek uses: ``{greek: "pathwise" | "lr" | "bump"}``."""
    from riskgpu.products import Barrier, Digital

    if method in ("pathwise", "lr"):
        reason = (_pw.pathwise_reason if method == "pathwise" else _pw.lr_reason)(product, model)
        if reason is not None:
            raise ValueError(f"greeks: method={method!r} {reason}")
        has = _pw.PATHWISE_GREEKS if method == "pathwise" else _pw.LR_GREEKS
        return {g: method if g in has else "bump" for g in which}
    if method == "bump":
        return dict.fromkeys(which, "bump")
    if _pw.pathwise_reason(product, model) is None:
        return {g: "pathwise" if g in _pw.PATHWISE_GREEKS else "bump" for g in which}
    if isinstance(product, Digital) and _pw.lr_reason(product, model) is None:
        lr = ("delta", "vega", "rho", "gamma") if n_steps == 1 else ("delta", "vega", "rho")
        return {g: "lr" if g in lr else "bump" for g in which}
    if isinstance(product, Barrier) and _pw.lr_reason(product, model) is None:
        # measured (benchmarks/greeks_methods.py): LR's first-step score loses to bumping on delta, gamma
        # and vega of a barrier (about 0.1-0.25x the efficiency) but wins 50x on rho
        return {g: "lr" if g == "rho" else "bump" for g in which}
    return dict.fromkeys(which, "bump")


def _bumped(model: object, field: str, value: float) -> object:
    """``model`` (or product) with ``field = value``; a Bermudan's explicit exercise dates scale with its
    maturity."""
    dates = getattr(model, "exercise_dates", None)
    if field == "maturity" and dates is not None:
        old = model.maturity
        return dataclasses.replace(model, maturity=value, exercise_dates=tuple(d * value / old for d in dates))
    return dataclasses.replace(model, **{field: value})


def _american(product: object, model: object, *, n_paths: int, name: str, method: str, **run: object) -> tuple:
    """``(base result, tile counts, base tile sums, sums(product, model))`` for an ``American``: the base
    Longstaff-Schwartz price fits the exercise policy; every bumped revaluation reuses that policy on the
    same out-of-sample paths (``riskgpu.lsm.out_of_sample``), so the differences see common random numbers
    and a fixed exercise rule."""
    from riskgpu import lsm

    if method not in ("auto", "bump"):
        raise ValueError(f"greeks: method={method!r} is not available for American (bump-and-revalue only)")
    if run["antithetic"]:
        raise ValueError("greeks: antithetic=True is not available for American (Longstaff-Schwartz)")
    base = lsm.price_american(
        product,
        model,
        n_paths=n_paths,
        seed=run["seed"],
        n_steps=run["n_steps"],
        backend=name,
        dtype=run["dtype"],
        stream=run["stream"],
    )
    policy = base.policy
    xp = array_module(name)
    counts = tile_counts(n_paths)

    def sums(prod: object, mdl: object) -> np.ndarray:
        if policy.exercise_today or prod.maturity == 0.0:
            v = np.full(n_paths, float(prod.intrinsic(float(mdl.spots[0]))))
        else:
            parts = lsm.out_of_sample(
                prod,
                mdl,
                policy,
                n_paths=n_paths,
                n_steps=base.n_steps,
                seed=run["seed"],
                backend=name,
                dtype=np.dtype(base.dtype),
                stream=run["stream"],
                max_batch_points=lsm.MAX_BATCH_POINTS,
                xp=xp,
            )
            v = np.concatenate([np.asarray(to_host(p)) for p in parts])
        return tile_totals(v)

    return base, counts, sums(product, model), sums


def _multi_asset(product, model, which, sums, v0, counts, values, stderrs, bumps) -> None:  # noqa: ANN001
    """Per-asset deltas and vegas and the gamma matrix (cross-gammas by the four-point difference)."""
    n = model.n_assets
    h = [BUMP["spot"] * float(s) for s in model.spots]
    bumps["spot"] = h
    if "delta" in which or "gamma" in which:
        up = [sums(product, _pw.shifted(model, "spot", {i: h[i]})) for i in range(n)]
        down = [sums(product, _pw.shifted(model, "spot", {i: -h[i]})) for i in range(n)]
        if "delta" in which:
            est = [_estimate([0.5 / h[i], -0.5 / h[i]], [up[i], down[i]], counts) for i in range(n)]
            values["delta"], stderrs["delta"] = [e[0] for e in est], [e[1] for e in est]
        if "gamma" in which:
            g = [[0.0] * n for _ in range(n)]
            se = [[0.0] * n for _ in range(n)]
            for i in range(n):
                c = 1.0 / h[i] ** 2
                g[i][i], se[i][i] = _estimate([c, -2.0 * c, c], [up[i], v0, down[i]], counts)
                for j in range(i + 1, n):
                    corners = [
                        sums(product, _pw.shifted(model, "spot", {i: a * h[i], j: b * h[j]}))
                        for a, b in ((1, 1), (1, -1), (-1, 1), (-1, -1))
                    ]
                    c = 1.0 / (4.0 * h[i] * h[j])
                    g[i][j], se[i][j] = _estimate([c, -c, -c, c], corners, counts)
                    g[j][i], se[j][i] = g[i][j], se[i][j]
            values["gamma"], stderrs["gamma"] = g, se
    if "vega" in which:
        hv = BUMP["vol"]
        est = []
        for i, vol in enumerate(model.vols):
            lo = max(float(vol) - hv, 0.0)
            up = sums(product, _pw.shifted(model, "vol", {i: hv}))
            down = sums(product, _pw.shifted(model, "vol", {i: lo - float(vol)}))
            span = float(vol) + hv - lo
            est.append(_estimate([1 / span, -1 / span], [up, down], counts))
        values["vega"], stderrs["vega"] = [e[0] for e in est], [e[1] for e in est]
        bumps["vol"] = hv


def greeks(
    product: object,
    model: object,
    *,
    which: tuple[str, ...] = GREEKS,
    n_paths: int,
    n_steps: int | None = None,
    seed: int,
    backend: str = "auto",
    dtype: str = "float64",
    antithetic: bool = False,
    stream: int = 0,
    method: str = "auto",
) -> GreeksResult:
    """Price and Greeks of ``product`` under ``model``: pathwise, likelihood-ratio or bump-and-revalue
    with common random numbers (``method``; see the module for the choice, bump sizes and the tile-based
    standard errors); per-asset deltas and vegas and the gamma matrix on a multi-asset GBM.

    Returns ``GreeksResult``; ``methods[g]`` names the estimator used for Greek ``g``. Tested against the
    Black-Scholes Greeks (pathwise, LR), the same central differences taken on the closed forms (bump:
    Black-Scholes European and digital, Reiner-Rubinstein barriers) and bump-and-revalue on shared paths
    (basket pathwise deltas) within k standard errors.
    """
    method = choice("greeks", "method", method, METHODS)
    which = tuple(which)
    for g in which:
        choice("greeks", "which", g, GREEKS)
    if "vega" in which and not hasattr(model, "vol"):
        raise ValueError(f"greeks: vega needs a model with a 'vol' field; {type(model).__name__} has none")
    run = {"n_steps": n_steps, "seed": seed, "dtype": dtype, "antithetic": antithetic, "stream": stream}
    name = _resolve(backend)
    if getattr(product, "lsm", False):
        base, counts, v0, sums = _american(product, model, n_paths=n_paths, name=name, method=method, **run)
        methods = dict.fromkeys(which, "bump")
    else:
        base_job = make_job(product, model, n_paths=n_paths, **run)
        t0 = time.perf_counter()
        base_sums, base_sqs = _backend_module(name).tile_sums(base_job, 0, base_job.n_tiles)
        value, se = combine(base_job, base_sums, base_sqs)
        base = PriceResult.of(
            value,
            se,
            n_paths=n_paths,
            backend=name,
            dtype=base_job.dtype.name,
            elapsed_s=time.perf_counter() - t0,
        )
        counts = base_job.tile_counts()
        v0 = base_job.payoff_sums(base_sums)

        def sums(prod: object, mdl: object) -> np.ndarray:
            return _tile_payoff_sums(make_job(prod, mdl, n_paths=n_paths, **run), name)

        methods = resolve_methods(product, model, which, method, base_job.n_steps)
    values, stderrs, bumps = {}, {}, {}
    for est in ("pathwise", "lr"):
        mine = tuple(g for g in which if methods[g] == est)
        if mine:
            xp = array_module(name)
            for g, per_asset in _pw.tile_sums(base_job, mine, est, xp).items():
                out = [_estimate([1.0], [a], counts) for a in per_asset]
                single = g == "gamma" or model.n_assets == 1
                values[g] = out[0][0] if single else [e[0] for e in out]
                stderrs[g] = out[0][1] if single else [e[1] for e in out]
    which = tuple(g for g in which if methods[g] == "bump")
    if model.n_assets > 1:
        _multi_asset(product, model, which, sums, v0, counts, values, stderrs, bumps)
    elif "delta" in which or "gamma" in which:
        s = float(model.spot)
        h = BUMP["spot"] * s
        up, down = sums(product, _bumped(model, "spot", s + h)), sums(product, _bumped(model, "spot", s - h))
        bumps["spot"] = h
        if "delta" in which:
            values["delta"], stderrs["delta"] = _estimate([0.5 / h, -0.5 / h], [up, down], counts)
        if "gamma" in which:
            values["gamma"], stderrs["gamma"] = _estimate([1 / h**2, -2 / h**2, 1 / h**2], [up, v0, down], counts)
    if "vega" in which and model.n_assets == 1:
        vol, h = float(model.vol), BUMP["vol"]
        lo = max(vol - h, 0.0)
        up, down = sums(product, _bumped(model, "vol", vol + h)), sums(product, _bumped(model, "vol", lo))
        values["vega"], stderrs["vega"] = _estimate([1 / (vol + h - lo), -1 / (vol + h - lo)], [up, down], counts)
        bumps["vol"] = h
    if "rho" in which:
        r, h = float(model.rate), BUMP["rate"]
        up, down = sums(product, _bumped(model, "rate", r + h)), sums(product, _bumped(model, "rate", r - h))
        values["rho"], stderrs["rho"] = _estimate([0.5 / h, -0.5 / h], [up, down], counts)
        bumps["rate"] = h
    if "theta" in which:
        t, h = float(product.maturity), BUMP["maturity"]
        later = sums(_bumped(product, "maturity", t + h), model)
        if t >= 2 * h:
            sooner, span = sums(_bumped(product, "maturity", t - h), model), 2 * h
        else:
            sooner, span = v0, h
        values["theta"], stderrs["theta"] = _estimate([1 / span, -1 / span], [sooner, later], counts)
        bumps["maturity"] = h
    order = [g for g in GREEKS if g in methods]
    return GreeksResult(
        price=base,
        values={g: values[g] for g in order},
        stderrs={g: stderrs[g] for g in order},
        methods={g: methods[g] for g in order},
        bumps=bumps,
    )
