"""Revaluation throughput of the VaR grid: position-scenarios per second, side by side in one run.

    python benchmarks/revaluation.py [--scenarios 20000] [--positions 200] [--backends cpu,reference]
                                     [--out benchmarks/results/revaluation.json]

Book 1, "european": ``--positions`` European calls and puts on ten underlyings, revalued under
``--scenarios`` lognormal one-day scenarios at ``T - h``. Compared: riskgpu's grid on each backend
(``riskgpu.risk.revaluation.full``: the numba kernel over the scenario x position grid on cpu, the CUDA
kernel on gpu, per-position scipy on reference) and a plain vectorised numpy/scipy Black-Scholes over the
whole ``(n_scen, n_pos)`` grid; every result is checked against numpy (max relative difference).
Book 2, "demo": the shipped demo book (every instrument type: barriers, Asians, lookbacks, baskets,
American trees) on the grid backends, the reference on fewer scenarios (it calls scalar closed forms).
Each timing is the best of ``--repeat`` calls after a warm-up call (numba compilation, reported apart).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import numba
import numpy as np
from scipy.special import ndtr

import riskgpu as rg
from riskgpu.risk import revaluation as rv
from riskgpu.risk.book import resolve_book
from riskgpu.risk.scenarios import monte_carlo_moves

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def european_book(n_pos: int) -> tuple[object, object]:
    """``n_pos`` Europeans on ten underlyings (deterministic), with their market."""
    rng = np.random.default_rng(7)
    names = [f"U{i}" for i in range(10)]
    spots = dict(zip(names, rng.uniform(50, 150, 10).round(2).tolist(), strict=True))
    vols = dict(zip(names, rng.uniform(0.15, 0.4, 10).round(3).tolist(), strict=True))
    market = rg.Market(asof="2026-11-20", spots=spots, vols=vols, rate=0.03)
    records = []
    for i in range(n_pos):
        u = names[i % 10]
        records.append(
            {
                "position_id": f"E{i:05d}",
                "instrument": "european",
                "underlying": u,
                "quantity": float(rng.integers(-20, 21)),
                "strike": round(spots[u] * float(rng.uniform(0.8, 1.2)), 2),
                "maturity": float(rng.choice([0.25, 0.5, 1.0, 2.0])),
                "kind": str(rng.choice(["call", "put"])),
            }
        )
    return rg.Portfolio.from_records(records), market


def numpy_bs(book: object, spots: np.ndarray, h: float) -> np.ndarray:
    """Plain vectorised Black-Scholes over the whole grid ``(n_scen, n_pos)``: the numpy baseline."""
    idx = np.array([a[0] for a in book.assets])
    k = np.array([p.strike for p in book.products])
    t = np.array([p.maturity for p in book.products]) - h
    sign = np.array([1.0 if p.kind == "call" else -1.0 for p in book.products])
    s = spots[:, idx]
    vol, q = book.vols[idx], book.divs[idx]
    sd = vol * np.sqrt(t)
    d1 = (np.log(s / k) + (book.rate - q + 0.5 * vol * vol) * t) / sd
    d2 = d1 - sd
    return sign * (s * np.exp(-q * t) * ndtr(sign * d1) - k * np.exp(-book.rate * t) * ndtr(sign * d2))


def timed(fn, repeat: int) -> tuple[float, float, object]:
    """``(first call s, best of repeat s, result)``."""
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return first, best, out


def run_book(name: str, book: object, n_scen: int, backends: list[str], repeat: int, baseline: bool) -> list[dict]:
    grid = rv.encode_book(book, 200)
    cov = book.corr * np.outer(book.vols, book.vols)
    spots = book.spots * monte_carlo_moves(
        cov, n_scenarios=n_scen, horizon_days=1, returns="lognormal", dof=None, seed=1
    )  # fmt: skip
    h = 1 / 252
    rows, ref = [], None
    if baseline:
        first, best, ref = timed(lambda: numpy_bs(book, spots, h), repeat)
        rows.append({"book": name, "impl": "numpy (vectorised scipy BS)", "first_s": first, "best_s": best})
    for b in backends:
        n = n_scen if b != "reference" else min(n_scen, 2000 if name == "european" else 500)
        first, best, out = timed(lambda b=b, n=n: rv.full(book, grid, spots[:n], elapsed=h, backend=b), repeat)
        row = {"book": name, "impl": f"riskgpu {b}", "first_s": first, "best_s": best, "scenarios": n}
        if ref is not None:
            row["max_rel_diff_vs_numpy"] = float(np.max(np.abs(out - ref[:n]) / np.maximum(np.abs(ref[:n]), 1e-8)))
        rows.append(row)
    for r in rows:
        r.setdefault("scenarios", n_scen)
        r["positions"] = book.n_positions
        r["cells_per_s"] = r["scenarios"] * r["positions"] / r["best_s"]
    return rows


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", type=int, default=20_000)
    ap.add_argument("--positions", type=int, default=200)
    ap.add_argument("--backends", default="cpu,reference")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "revaluation.json")
    args = ap.parse_args(argv)
    backends = [b for b in args.backends.split(",") if b]
    portfolio, market = european_book(args.positions)
    rows = run_book("european", resolve_book(portfolio, market), args.scenarios, backends, args.repeat, True)
    demo = resolve_book(rg.Portfolio.read(DEMO / "portfolio.csv"), rg.Market.read(DEMO / "market"))
    rows += run_book("demo", demo, args.scenarios, backends, args.repeat, False)
    print(f"{'book':9} {'implementation':28} {'positions':>9} {'scenarios':>9} {'first s':>8} {'best s':>8} "
          f"{'cells/s':>10} {'max rel diff':>12}")  # fmt: skip
    for r in rows:
        diff = r.get("max_rel_diff_vs_numpy")
        print(
            f"{r['book']:9} {r['impl']:28} {r['positions']:9d} {r['scenarios']:9d} {r['first_s']:8.3f} "
            f"{r['best_s']:8.3f} {r['cells_per_s']:10.3g} {'' if diff is None else f'{diff:12.2e}'}"
        )
    report = {
        "benchmark": "revaluation",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "numba_threads": numba.get_num_threads(),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
