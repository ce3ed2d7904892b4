"""Write the demo book and market under data/demo/ (deterministic: same bytes on every run).

    python data/generate_demo.py [--out data/demo] [--positions 300] [--years 3]

A synthetic equity book: stocks, forwards, European, digital, Asian, barrier, lookback, American/Bermudan
and basket options on ten underlyings in two books, with a correlated GBM price history ending on the
as-of date. Layout (read by ``rg.Portfolio.read`` and ``rg.Market.read``)::

    data/demo/portfolio.csv
    data/demo/market/market.toml        asof, rate
    data/demo/market/underlyings.csv    underlying, spot, vol, div
    data/demo/market/correlation.csv    underlying, <one column per name>
    data/demo/market/history.csv        date, underlying, close
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
from pathlib import Path

import numpy as np

ASOF = dt.date(2026, 11, 20)
RATE = 0.03
NAMES = ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "ECHO", "FOXTROT", "GOLF", "HOTEL", "INDIA", "JULIET")
COLUMNS = (
    "position_id", "book", "instrument", "underlying", "weights", "quantity", "strike", "maturity", "kind",
    "payout", "n_fixings", "average", "past_average", "past_fixings", "barrier", "direction", "knock", "rebate",
    "monitoring", "knocked", "running_max", "running_min", "n_exercise",
)  # fmt: skip


def market(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Spots, vols, dividend yields and a one-factor correlation matrix (positive definite)."""
    k = len(NAMES)
    spots = np.round(rng.uniform(20.0, 400.0, k), 2)
    vols = np.round(rng.uniform(0.15, 0.45, k), 4)
    divs = np.round(rng.uniform(0.0, 0.03, k), 4)
    beta = rng.uniform(0.3, 0.8, k)
    corr = np.round(np.outer(beta, beta), 4)
    np.fill_diagonal(corr, 1.0)
    return spots, vols, divs, corr


def history(
    rng: np.random.Generator, spots: np.ndarray, vols: np.ndarray, corr: np.ndarray, years: int
) -> tuple[list[dt.date], np.ndarray]:
    """Business-day closes ending at ``ASOF`` at the given spots: correlated GBM returns, walked backwards."""
    n = 252 * years
    days = np.busday_offset(np.datetime64(ASOF), -np.arange(n + 1)[::-1], roll="backward")
    chol = np.linalg.cholesky(corr)
    r = rng.standard_normal((n, len(spots))) @ chol.T * vols / np.sqrt(252) - 0.5 * vols**2 / 252
    logs = np.log(spots) - np.vstack([np.cumsum(r[::-1], axis=0)[::-1], np.zeros(len(spots))])
    return [d.astype(dt.date) for d in days], np.round(np.exp(logs), 4)


def positions(rng: np.random.Generator, spots: np.ndarray, count: int) -> list[dict]:
    """``count`` positions cycling through the instrument types, strikes around the spot."""
    rows = []
    kinds = ("spot", "forward", "european", "european", "digital", "asian", "barrier", "lookback", "american",
             "basket")  # fmt: skip
    for i in range(count):
        inst = kinds[i % len(kinds)]
        u = int(rng.integers(len(NAMES)))
        s = float(spots[u])
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            position_id=f"P{i + 1:04d}",
            book="delta_one" if inst in ("spot", "forward") else "vol",
            instrument=inst,
            underlying=NAMES[u],
            quantity=int(rng.choice([-1, 1]) * rng.integers(1, 20) * (100 if inst == "spot" else 10)),
        )
        years = float(rng.choice([0.25, 0.5, 1.0, 2.0]))
        if i % 3 == 0:  # an ISO date maturity, ACT/365 from the as-of date
            row["maturity"] = (ASOF + dt.timedelta(days=round(365 * years))).isoformat()
        else:
            row["maturity"] = years
        strike = round(s * float(rng.uniform(0.85, 1.15)), 2)
        kind = str(rng.choice(["call", "put"]))
        if inst == "spot":
            row["maturity"] = ""
        elif inst == "forward":
            row["strike"] = strike
        elif inst in ("european", "digital"):
            row.update(strike=strike, kind=kind)
            if inst == "digital":
                row["payout"] = 10.0
        elif inst == "asian":
            row.update(strike=strike, kind=kind, n_fixings=12, average=str(rng.choice(["arithmetic", "geometric"])))
            if i % 2:
                row.update(past_fixings=3, past_average=round(s * float(rng.uniform(0.9, 1.1)), 2))
        elif inst == "barrier":
            up = bool(rng.integers(2))
            row.update(strike=strike, kind=kind, direction="up" if up else "down", knock=str(rng.choice(["in", "out"])))
            row["barrier"] = round(s * (1.25 if up else 0.75), 2)
            if i % 4 == 0:
                row.update(monitoring="discrete", n_fixings=52)
        elif inst == "lookback":
            row.update(kind=kind, running_max=round(s * 1.05, 2), running_min=round(s * 0.95, 2))
            if i % 2:
                row["strike"] = strike
        elif inst == "american":
            row.update(strike=strike, kind="put")
            if i % 2:
                row["n_exercise"] = 4
        elif inst == "basket":
            names = rng.choice(len(NAMES), 3, replace=False)
            weights = rng.dirichlet(np.ones(3))
            level = float(np.dot(weights, spots[names]))
            row.update(
                underlying="|".join(NAMES[j] for j in names),
                weights="|".join(f"{w:.4f}" for w in weights),
                strike=round(level, 2),
                kind=kind,
            )
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "demo")
    ap.add_argument("--positions", type=int, default=300)
    ap.add_argument("--years", type=int, default=3)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(2026)
    spots, vols, divs, corr = market(rng)
    days, closes = history(rng, spots, vols, corr, args.years)
    book = positions(rng, spots, args.positions)
    out = args.out
    (out / "market").mkdir(parents=True, exist_ok=True)
    (out / "market" / "market.toml").write_text(f"asof = {ASOF.isoformat()}\nrate = {RATE}\n")
    with open(out / "market" / "underlyings.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["underlying", "spot", "vol", "div"])
        w.writerows(zip(NAMES, spots, vols, divs, strict=True))
    with open(out / "market" / "correlation.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["underlying", *NAMES])
        w.writerows([name, *row] for name, row in zip(NAMES, corr.tolist(), strict=True))
    with open(out / "market" / "history.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["date", "underlying", "close"])
        for j, name in enumerate(NAMES):
            w.writerows((d.isoformat(), name, f"{c:.4f}") for d, c in zip(days, closes[:, j], strict=True))
    with open(out / "portfolio.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(book)
    print(f"wrote {len(book)} positions on {len(NAMES)} underlyings, {len(days)} history dates to {out}")


if __name__ == "__main__":
    main()
