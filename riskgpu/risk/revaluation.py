"""Revaluation of a book under scenarios: full (closed forms and fast approximations on the grid kernels),
sensitivities (delta-gamma-vega from the same grid) and nested Monte Carlo (the accuracy check).

A scenario is today's market with the spots multiplied by ``moves`` ``(n_scen, k)``, optionally other vols
``(n_scen, k)``, and ``elapsed`` years passed (options reprice at ``T - elapsed``). Values are per unit of
each position ``(n_scen, n_pos)``; the caller multiplies by the quantities.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from riskgpu.risk.book import Book

#: Scenario x position cells revalued per grid call (bounds the memory of large runs).
CHUNK_CELLS = 1 << 22
#: Relative spot bump and absolute vol bump of the sensitivities (closed forms).
SPOT_BUMP = 1e-4
VOL_BUMP = 1e-4
#: Trees (Americans, Bermudans): the value is piecewise smooth in the spot with kinks one node spacing
#: ``2 vol sqrt(T / n)`` apart, so their spot bump is ``TREE_NODES`` node spacings and their vol bump
#: ``TREE_VOL_BUMP``.
TREE_NODES = 2.0
TREE_VOL_BUMP = 0.01


def encode_book(book: Book, tree_steps: int) -> object:
    """The book's positions encoded for the grid kernels (``riskgpu.risk.grid.encode``)."""
    from riskgpu.risk.grid import encode

    return encode(list(book.products), list(book.assets), spots=book.spots, tree_steps=tree_steps)


def full(
    book: Book,
    grid: object,
    spots: np.ndarray,
    *,
    elapsed: float,
    backend: str,
    vols: np.ndarray | None = None,
) -> np.ndarray:
    """Unit values ``(n_scen, n_pos)`` at scenario spots ``(n_scen, k)`` after ``elapsed`` years, in chunks.

    Oracle: ``grid.revalue`` on the reference backend (the closed forms of ``riskgpu.analytic``).
    """
    from riskgpu.risk.grid import revalue

    spots = np.atleast_2d(np.asarray(spots, dtype=np.float64))
    n = spots.shape[0]
    vols = np.array(np.broadcast_to(book.vols if vols is None else vols, spots.shape))
    out = np.empty((n, book.n_positions), dtype=np.float64)
    step = max(1, CHUNK_CELLS // max(1, book.n_positions))
    for a in range(0, n, step):
        b = min(n, a + step)
        out[a:b] = revalue(
            grid,
            spots=np.ascontiguousarray(spots[a:b]),
            vols=np.ascontiguousarray(vols[a:b]),
            rates=np.full(b - a, book.rate),
            divs=book.divs,
            corr=book.corr,
            elapsed=np.full(b - a, float(elapsed)),
            backend=backend,
        )
    return out


def _pairs(book: Book) -> list[tuple[int, int]]:
    """Pairs of underlyings ``i < j`` held together by some position (the cross-gammas that can be non-zero)."""
    return sorted({(a[i], a[j]) for a in book.assets for i in range(len(a)) for j in range(i + 1, len(a))})


def sensitivities(book: Book, grid: object, *, elapsed: float, backend: str) -> dict:
    """Per-position, per-unit sensitivities from central differences of the grid at today's market.

    Returns ``value`` ``(n_pos,)``, ``theta`` (value after ``elapsed`` years at today's spots minus today's
    value; the time decay over the horizon) ``(n_pos,)``, ``delta`` ``(n_pos, k)``, ``gamma``
    ``(n_pos, k, k)`` (cross terms for underlyings held together, four-point), ``vega`` ``(n_pos, k)``.
    Spot bumps ``SPOT_BUMP`` relative, divided by the bumped spots' actual difference; vol bump ``VOL_BUMP``.
    Trees take their own wider bumps (``_tree_sensitivities``); spots and forwards their exact deltas
    (1 and ``e^{-q tau}``). Tested against the Black-Scholes Greeks (``riskgpu.analytic.bs_greeks``), an
    American call without dividends (the European's Greeks) and a 2000-step tree.
    """
    s0 = book.spots
    k = s0.size
    up, dn = s0 * (1.0 + SPOT_BUMP), s0 * (1.0 - SPOT_BUMP)
    rows = [s0]
    for i in range(k):
        for level in (up, dn):
            r = s0.copy()
            r[i] = level[i]
            rows.append(r)
    pairs = _pairs(book)
    for i, j in pairs:
        for a, b in ((up, up), (up, dn), (dn, up), (dn, dn)):
            r = s0.copy()
            r[i], r[j] = a[i], b[j]
            rows.append(r)
    spots = np.array(rows)
    v = full(book, grid, spots, elapsed=0.0, backend=backend)
    later = full(book, grid, s0[None, :], elapsed=elapsed, backend=backend)[0]
    base = v[0]
    n_pos = book.n_positions
    delta = np.zeros((n_pos, k))
    gamma = np.zeros((n_pos, k, k))
    width = up - dn
    for i in range(k):
        vu, vd = v[1 + 2 * i], v[2 + 2 * i]
        delta[:, i] = (vu - vd) / width[i]
        hu, hd = up[i] - s0[i], s0[i] - dn[i]
        gamma[:, i, i] = ((vu - base) / hu - (base - vd) / hd) / (0.5 * width[i])
    first = 1 + 2 * k
    for m, (i, j) in enumerate(pairs):
        pp, pm, mp, mm = v[first + 4 * m : first + 4 * m + 4]
        gamma[:, i, j] = gamma[:, j, i] = (pp - pm - mp + mm) / (width[i] * width[j])
    vols_up = np.tile(book.vols, (k, 1))
    vols_dn = np.tile(book.vols, (k, 1))
    for i in range(k):
        vols_up[i, i] += VOL_BUMP
        vols_dn[i, i] = max(book.vols[i] - VOL_BUMP, 0.0)
    spots_k = np.tile(s0, (k, 1))
    vu = full(book, grid, spots_k, elapsed=0.0, backend=backend, vols=vols_up)
    vd = full(book, grid, spots_k, elapsed=0.0, backend=backend, vols=vols_dn)
    vega = ((vu - vd) / (vols_up - vols_dn).diagonal()[:, None]).T
    for p, product in enumerate(book.products):
        name = type(product).__name__
        if name in ("Spot", "Forward"):
            i = book.assets[p][0]
            delta[p, i] = 1.0 if name == "Spot" else math.exp(-book.divs[i] * product.maturity)
            gamma[p, i, i] = vega[p, i] = 0.0
    _tree_sensitivities(book, grid, base, delta, gamma, vega, backend)
    return {"value": base, "theta": later - base, "delta": delta, "gamma": gamma, "vega": vega}


def _tree_sensitivities(book: Book, grid: object, base, delta, gamma, vega, backend: str) -> None:  # noqa: ANN001
    """Delta, gamma and vega of the tree positions (Americans, Bermudans), in place: spot bumps of
    ``TREE_NODES`` node spacings ``2 vol sqrt(T / n)`` (at least ``SPOT_BUMP``), vol bumps ``TREE_VOL_BUMP``."""
    trees = [p for p, x in enumerate(book.products) if getattr(x, "lsm", False)]
    if not trees:
        return
    spots, vols = [], []
    for p in trees:
        i = book.assets[p][0]
        rel = max(SPOT_BUMP, TREE_NODES * 2.0 * book.vols[i] * math.sqrt(book.products[p].maturity / grid.tree_steps))
        for f in (1.0 + rel, 1.0 - rel):
            r = book.spots.copy()
            r[i] *= f
            spots.append(r)
            vols.append(book.vols)
        for dv in (TREE_VOL_BUMP, -min(TREE_VOL_BUMP, book.vols[i])):
            v = book.vols.copy()
            v[i] += dv
            spots.append(book.spots)
            vols.append(v)
    out = full(book, grid, np.array(spots), elapsed=0.0, backend=backend, vols=np.array(vols))
    for m, p in enumerate(trees):
        i = book.assets[p][0]
        su, sd, vu, vd = (spots[4 * m][i], spots[4 * m + 1][i], vols[4 * m + 2][i], vols[4 * m + 3][i])
        up, dn, hi, lo = out[4 * m : 4 * m + 4, p]
        s0 = book.spots[i]
        delta[p, i] = (up - dn) / (su - sd)
        gamma[p, i, i] = ((up - base[p]) / (su - s0) - (base[p] - dn) / (s0 - sd)) / (0.5 * (su - sd))
        vega[p, i] = (hi - lo) / (vu - vd) if vu > vd else 0.0


def greeks_pnl(book: Book, sens: dict, spots: np.ndarray, vols: np.ndarray | None = None) -> np.ndarray:
    """Delta-gamma-vega unit P&L ``(n_scen, n_pos)``: ``theta + delta . dS + dS' gamma dS / 2 + vega . dvol``."""
    ds = np.asarray(spots, dtype=np.float64) - book.spots
    pnl = sens["theta"][None, :] + ds @ sens["delta"].T
    pnl += 0.5 * np.einsum("si,pij,sj->sp", ds, sens["gamma"], ds)
    if vols is not None:
        pnl += (np.asarray(vols, dtype=np.float64) - book.vols) @ sens["vega"].T
    return pnl


def nested(
    book: Book,
    grid: object,
    spots: np.ndarray,
    *,
    elapsed: float,
    inner_paths: int,
    seed: int,
    backend: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inner Monte Carlo revaluation: ``(values, half_pnl, base)``: unit values in the scenarios, the unit P&L
    on the first half of the inner paths, today's unit values.

    Each position is priced in each scenario by ``inner_paths`` paths on its own stream
    (``position_stream(id)``: the same normals in every scenario and for today's price, so the P&L's noise
    is small where the payoff is smooth); ``half_pnl`` uses the first half of those paths (the bias
    estimate of ``var``). Spots and forwards are exact (closed form). Americans use Longstaff-Schwartz with
    ``inner_paths`` pilot paths. Oracle: the closed forms on European books, within the inner stderr.
    """
    from riskgpu.api import combine, make_job, price
    from riskgpu.backends import module as _backend_module
    from riskgpu.models import GBM
    from riskgpu.risk.grid import advance
    from riskgpu.risk.streams import position_stream

    inner_paths = check_inner(inner_paths)
    spots = np.atleast_2d(np.asarray(spots, dtype=np.float64))
    today = full(book, grid, book.spots[None, :], elapsed=0.0, backend=backend)[0]
    exact_later = full(book, grid, spots, elapsed=elapsed, backend=backend)
    module = _backend_module(backend)
    n_scen, n_pos = spots.shape[0], book.n_positions
    values = np.empty((n_scen, n_pos))
    halves = np.empty((n_scen, n_pos))
    base = today.copy()
    for p in range(n_pos):
        product = book.products[p]
        kind = type(product).__name__
        if kind in ("Spot", "Forward"):
            values[:, p] = exact_later[:, p]
            halves[:, p] = exact_later[:, p] - today[p]
            continue
        idx = book.assets[p]
        stream = position_stream(book.ids[p])
        for s in range(-1, n_scen):
            spot = book.spots[list(idx)] if s < 0 else spots[s, list(idx)]
            model = GBM(
                spot=tuple(spot),
                vol=tuple(book.vols[list(idx)]),
                rate=book.rate,
                div=tuple(book.divs[list(idx)]),
                corr=book.corr[np.ix_(idx, idx)] if len(idx) > 1 else None,
            )
            if s >= 0 and len(idx) == 1:
                prod = advance(product, spot_today=float(book.spots[idx[0]]), spot=float(spot[0]), elapsed=elapsed)
            elif s >= 0:
                prod = dataclasses.replace(product, maturity=max(product.maturity - elapsed, 0.0))
            else:
                prod = product
            if prod.maturity == 0.0:
                full_v = half_v = float(exact_later[s, p]) if s >= 0 else float(today[p])
            elif getattr(prod, "lsm", False):
                run = {"seed": seed, "backend": backend, "stream": stream}
                full_v = price(prod, model, n_paths=inner_paths, pilot_paths=inner_paths, **run).value
                half_v = price(prod, model, n_paths=inner_paths // 2, pilot_paths=inner_paths // 2, **run).value
            else:
                job = make_job(
                    prod, model, n_paths=inner_paths, n_steps=None, seed=seed, dtype="float64", antithetic=False,
                    stream=stream,
                )  # fmt: skip
                sums, sqs = module.tile_sums(job, 0, job.n_tiles)
                full_v = combine(job, sums, sqs)[0]
                h = job.n_tiles // 2
                half_v = combine(job, sums[:h], sqs[:h], int(job.tile_counts()[:h].sum()))[0]
            if s < 0:
                base[p] = full_v
                base_half = half_v
            else:
                values[s, p] = full_v
                halves[s, p] = half_v - base_half
    return values, halves, base


def check_inner(inner_paths: object) -> int:
    """``inner_paths``: a positive multiple of 64 (two halves of whole 32-path tiles, for the bias estimate)."""
    if (
        isinstance(inner_paths, bool)
        or not isinstance(inner_paths, (int, np.integer))
        or inner_paths < 64
        or inner_paths % 64
    ):
        raise ValueError(f"var.inner_paths must be a positive multiple of 64 (e.g. 1024), got {inner_paths!r}")
    return int(inner_paths)
