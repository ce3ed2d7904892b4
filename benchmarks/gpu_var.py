"""The VaR revaluation grid in the GPU suite: gpu against reference, then cells (position-scenarios) per second.

A synthetic book of every grid family (spot, forward, European, digital, barrier, Asians, lookback,
baskets, American/Bermudan) on ten underlyings, built from products directly (no polars needed), revalued
under lognormal one-day scenarios at ``T - h`` by ``riskgpu.risk.grid.revalue``.
"""

from __future__ import annotations

import time
import traceback

import numpy as np

import riskgpu as rg
from riskgpu.risk.grid import encode, revalue
from riskgpu.risk.scenarios import monte_carlo_moves

#: Relative tolerance of gpu against reference per cell (float64 closed forms in another order).
RTOL = 1e-9
K = 10


def book(n_pos: int) -> tuple[list, list, dict]:
    """``n_pos`` products cycling through the families, their asset indices and the market arrays."""
    rng = np.random.default_rng(11)
    spots = rng.uniform(50.0, 150.0, K)
    vols = rng.uniform(0.15, 0.4, K)
    beta = rng.uniform(0.3, 0.8, K)
    corr = np.outer(beta, beta)
    np.fill_diagonal(corr, 1.0)
    products, assets = [], []
    for i in range(n_pos):
        a = i % K
        s = float(spots[a])
        k = round(s * float(rng.uniform(0.9, 1.1)), 2)
        t = float(rng.choice([0.25, 0.5, 1.0]))
        kind = "call" if i % 2 else "put"
        family = i % 11
        if family == 0:
            p = rg.Spot()
        elif family == 1:
            p = rg.Forward(strike=k, maturity=t)
        elif family == 2:
            p = rg.European(strike=k, maturity=t, kind=kind)
        elif family == 3:
            p = rg.Digital(strike=k, maturity=t, kind=kind, payout=10.0)
        elif family == 4:
            p = rg.Barrier(strike=k, maturity=t, kind=kind, barrier=1.3 * s, direction="up", knock="out", rebate=1.0)
        elif family == 5:
            p = rg.Asian(strike=k, maturity=t, kind=kind, n_fixings=12)
        elif family == 6:
            p = rg.Asian(strike=k, maturity=t, kind=kind, n_fixings=12, average="geometric")
        elif family == 7:
            p = rg.Lookback(maturity=t, kind=kind, monitoring="discrete", n_fixings=52)
        elif family == 8:
            p = rg.American(strike=k, maturity=t, kind="put")
        elif family == 9:
            p = rg.American(strike=k, maturity=t, kind="put", n_exercise=4)
        else:
            idx = ((a + 1) % K, (a + 2) % K, (a + 3) % K)
            level = float(np.mean(spots[list(idx)]))
            products.append(rg.Basket(strike=round(level, 2), maturity=t, kind=kind, weights=(1 / 3, 1 / 3, 1 / 3)))
            assets.append(idx)
            continue
        products.append(p)
        assets.append((a,))
    market = {"spots": spots, "vols": vols, "divs": np.full(K, 0.01), "corr": corr, "rate": 0.03}
    return products, assets, market


def _scenarios(market: dict, n_scen: int) -> dict:
    cov = market["corr"] * np.outer(market["vols"], market["vols"])
    moves = monte_carlo_moves(cov, n_scenarios=n_scen, horizon_days=1, returns="lognormal", dof=None, seed=5)
    return {
        "spots": market["spots"] * moves,
        "vols": np.tile(market["vols"], (n_scen, 1)),
        "rates": np.full(n_scen, market["rate"]),
        "divs": market["divs"],
        "corr": market["corr"],
        "elapsed": np.full(n_scen, 1 / 252),
    }


def check(n_scen: int, n_pos: int = 44, alt_launch: tuple[int, int] = (2, 32)) -> dict:
    """Correctness row: every cell of the gpu grid against the reference; two launch shapes, same bytes."""
    row = {"case": "var_grid_all_families", "dtype": "float64", "paths": n_scen, "steps": None, "antithetic": False}
    t0 = time.perf_counter()
    try:
        products, assets, market = book(n_pos)
        grid = encode(products, assets, spots=market["spots"], tree_steps=100)
        sc = _scenarios(market, n_scen)
        ref = revalue(grid, **sc, backend="reference")
        one = revalue(grid, **sc, backend="gpu")
        two = revalue(grid, **sc, backend="gpu", launch=alt_launch)
        rel = float(np.max(np.abs(one - ref) / np.maximum(np.abs(ref), 1.0)))
        row.update(reference=float(ref.sum()), gpu=float(one.sum()), stderr=None, diff=rel, allowance=RTOL)
        same = one.tobytes() == two.tobytes()
        row.update(rel_diff=rel, identical_bytes=same, passed=bool(rel <= RTOL and same), error=None)
    except Exception as exc:  # a row that cannot run fails; the suite goes on
        row.update(passed=False, identical_bytes=None, error=f"{type(exc).__name__}: {exc}")
        row["traceback"] = traceback.format_exc(limit=4)
    row["seconds"] = time.perf_counter() - t0
    return row


def throughput(backend: str, *, n_scen: int, n_pos: int, repeat: int) -> dict:
    """Cells per second of ``revalue`` on ``backend``: first call (compilation) and best of ``repeat``."""
    products, assets, market = book(n_pos)
    grid = encode(products, assets, spots=market["spots"], tree_steps=200)
    sc = _scenarios(market, n_scen)
    t0 = time.perf_counter()
    revalue(grid, **sc, backend=backend)
    first = time.perf_counter() - t0
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        revalue(grid, **sc, backend=backend)
        times.append(time.perf_counter() - t0)
    best = min(times)
    return {
        "workload": "var_grid_all_families",
        "backend": backend,
        "scenarios": n_scen,
        "positions": n_pos,
        "tree_steps": 200,
        "first_s": first,
        "best_s": best,
        "cells_per_s": n_scen * n_pos / best,
    }


def print_rows(rows: list[dict]) -> None:
    """The throughput rows as a table."""
    head = f"{'workload':<24} {'backend':<7} {'scenarios':>9} {'positions':>9} {'first s':>8} {'best s':>8}"
    print(f"{head} {'cells/s':>10}")
    for r in rows:
        print(
            f"{r['workload']:<24} {r['backend']:<7} {r['scenarios']:>9} {r['positions']:>9} {r['first_s']:8.3f} "
            f"{r['best_s']:8.4f} {r['cells_per_s']:10.3e}"
        )
