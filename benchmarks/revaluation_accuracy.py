"""Accuracy of VaR's fast revaluation against the Monte Carlo price, instrument by instrument.

    python benchmarks/revaluation_accuracy.py [--paths 1000000] [--backend cpu]
                                              [--out benchmarks/results/revaluation_accuracy.json]

Each case is a one-position book priced by ``rg.price_portfolio``: ``closed_form`` is the grid's value
(what full revaluation uses: CRR tree of 200 steps on the product's exercise dates for Americans and
Bermudans, moment matching for arithmetic Asians and baskets, the Broadie-Glasserman-Kou shift for
discretely monitored barriers and lookbacks, exact closed forms otherwise) and ``price`` the Monte Carlo
price on the position's stream (Longstaff-Schwartz out of sample for Americans, low-biased). Reported:
the difference, in price units, in basis points of the spot and in Monte Carlo standard errors.
"""

from __future__ import annotations

import argparse
import datetime
import json
import time
from pathlib import Path

import riskgpu as rg

ROOT = Path(__file__).resolve().parents[1]
SPOTS = {"AAA": 100.0, "BBB": 80.0, "CCC": 120.0}
VOLS = {"AAA": 0.25, "BBB": 0.3, "CCC": 0.2}
DIVS = {"AAA": 0.01, "BBB": 0.0, "CCC": 0.02}
CORR = [[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]]
CASES = {
    "american_put_atm": {"instrument": "american", "underlying": "AAA", "strike": 100.0, "maturity": 1.0,
                         "kind": "put"},
    "american_put_itm": {"instrument": "american", "underlying": "AAA", "strike": 110.0, "maturity": 1.0,
                         "kind": "put"},
    "bermudan_put_4": {"instrument": "american", "underlying": "AAA", "strike": 100.0, "maturity": 1.0,
                       "kind": "put", "n_exercise": 4},
    "asian_arith_12": {"instrument": "asian", "underlying": "AAA", "strike": 100.0, "maturity": 1.0,
                       "kind": "call", "n_fixings": 12},
    "asian_arith_52_seasoned": {"instrument": "asian", "underlying": "BBB", "strike": 80.0, "maturity": 1.0,
                                "kind": "put", "n_fixings": 52, "past_fixings": 10, "past_average": 78.0},
    "basket_3_call": {"instrument": "basket", "underlying": ["AAA", "BBB", "CCC"], "weights": [0.4, 0.3, 0.3],
                      "strike": 100.0, "maturity": 1.0, "kind": "call"},
    "basket_3_put": {"instrument": "basket", "underlying": ["AAA", "BBB", "CCC"], "weights": [0.4, 0.3, 0.3],
                     "strike": 95.0, "maturity": 0.5, "kind": "put"},
    "barrier_discrete_up_out": {"instrument": "barrier", "underlying": "CCC", "strike": 120.0, "maturity": 1.0,
                                "kind": "call", "barrier": 150.0, "direction": "up", "knock": "out",
                                "monitoring": "discrete", "n_fixings": 52},
    "lookback_discrete_float": {"instrument": "lookback", "underlying": "CCC", "maturity": 1.0, "kind": "call",
                                "monitoring": "discrete", "n_fixings": 52},
}  # fmt: skip


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=1_000_000)
    ap.add_argument("--backend", default="cpu", choices=("reference", "cpu", "gpu", "auto"))
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "revaluation_accuracy.json")
    args = ap.parse_args(argv)
    market = rg.Market(asof="2026-11-20", spots=SPOTS, vols=VOLS, divs=DIVS, rate=0.03, corr=CORR)
    rows = []
    print(f"{'case':26} {'closed form':>12} {'Monte Carlo':>12} {'stderr':>9} {'diff':>9} {'bp of spot':>10} "
          f"{'diff/se':>8} {'time s':>7}")  # fmt: skip
    for name in args.cases.split(","):
        terms = CASES[name]
        book = rg.Portfolio.from_records([{"position_id": name, "quantity": 1.0, **terms}])
        t0 = time.perf_counter()
        row = rg.price_portfolio(book, market, n_paths=args.paths, seed=2026, backend=args.backend).row(0, named=True)
        elapsed = time.perf_counter() - t0
        names = terms["underlying"] if isinstance(terms["underlying"], list) else [terms["underlying"]]
        spot = sum(SPOTS[n] for n in names) / len(names)
        diff = row["closed_form"] - row["price"]
        out = {
            "case": name,
            "closed_form": row["closed_form"],
            "monte_carlo": row["price"],
            "stderr": row["stderr"],
            "method": row["method"],
            "diff": diff,
            "diff_bp_of_spot": 1e4 * diff / spot,
            "diff_in_stderr": diff / row["stderr"] if row["stderr"] > 0 else None,
            "paths": args.paths,
            "time_s": elapsed,
        }
        rows.append(out)
        print(
            f"{name:26} {out['closed_form']:12.5f} {out['monte_carlo']:12.5f} {out['stderr']:9.5f} {diff:9.5f} "
            f"{out['diff_bp_of_spot']:10.2f} {out['diff_in_stderr'] or 0.0:8.2f} {elapsed:7.2f}"
        )
    report = {
        "benchmark": "revaluation_accuracy",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "backend": args.backend,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    return report


if __name__ == "__main__":
    main()
