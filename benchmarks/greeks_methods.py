"""Greek estimators side by side: standard error and time of bump-and-revalue, pathwise and likelihood ratio.

    python benchmarks/greeks_methods.py [--paths 200000] [--backend cpu]
                                        [--out benchmarks/results/greeks_methods.json]

For each problem (European call, 12-fixing arithmetic Asian, cash digital, continuous up-and-out call;
GBM) and each estimator that applies, ``rg.greeks`` runs delta, vega and rho (and gamma where the
estimator has one) on the same paths after a warm-up call. Reported per Greek: value, stderr, the
estimator's time for all its Greeks, and the efficiency ``1 / (stderr^2 t)`` relative to bump. The
closed-form value (Black-Scholes, or nothing) is printed beside it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import time
from pathlib import Path

import numba

import riskgpu as rg

MODEL = rg.GBM(spot=100.0, vol=0.25, rate=0.03, div=0.01)
PROBLEMS = {
    "european": (rg.European(strike=100.0, maturity=1.0), ("bump", "pathwise", "lr")),
    "asian_12": (rg.Asian(strike=100.0, maturity=1.0, n_fixings=12), ("bump", "pathwise", "lr")),
    "digital": (rg.Digital(strike=100.0, maturity=1.0, payout=10.0), ("bump", "lr")),
    "up_out_call": (rg.Barrier(strike=100.0, maturity=1.0, barrier=130.0), ("bump", "lr")),
}
WHICH = ("delta", "gamma", "vega", "rho")


def measure(problem: str, method: str, *, paths: int, backend: str) -> dict:
    """One estimator on one problem: Greek values and stderrs, wall time (after a warm-up)."""
    product = PROBLEMS[problem][0]
    run = {"which": WHICH, "seed": 2026, "backend": backend, "method": method}
    rg.greeks(product, MODEL, n_paths=4096, **run)
    t0 = time.perf_counter()
    res = rg.greeks(product, MODEL, n_paths=paths, **run)
    elapsed = time.perf_counter() - t0
    return {
        "problem": problem,
        "method": method,
        "paths": paths,
        "time_s": elapsed,
        "greeks": {g: {"value": res.values[g], "stderr": res.stderrs[g], "method": res.methods[g]} for g in WHICH},
    }


def main(argv: list[str] | None = None) -> dict:
    """Run every (problem, estimator), print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paths", type=int, default=200_000)
    parser.add_argument("--backend", default="cpu", choices=("reference", "cpu", "gpu", "auto"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/greeks_methods.json"))
    args = parser.parse_args(argv)
    rows = [
        measure(p, m, paths=args.paths, backend=args.backend) for p, (_, methods) in PROBLEMS.items() for m in methods
    ]
    bump = {r["problem"]: r for r in rows if r["method"] == "bump"}
    exact = rg.bs_greeks(kind="call", strike=100.0, maturity=1.0, spot=100.0, vol=0.25, rate=0.03, div=0.01)
    print(
        f"{'problem':12} {'method':9} {'greek':6} {'used':9} {'value':>11} {'stderr':>9} {'time_s':>7} {'eff/bump':>9}"
    )
    for r in rows:
        b = bump[r["problem"]]
        for g in WHICH:
            e, eb = r["greeks"][g], b["greeks"][g]
            eff = (eb["stderr"] ** 2 * b["time_s"]) / (e["stderr"] ** 2 * r["time_s"]) if e["stderr"] > 0 else None
            e["efficiency_vs_bump"] = eff
            ref = f"  (Black-Scholes {float(exact[g]):.4f})" if r["problem"] == "european" and g in exact else ""
            print(
                f"{r['problem']:12} {r['method']:9} {g:6} {e['method']:9} {e['value']:11.4f} {e['stderr']:9.4f} "
                f"{r['time_s']:7.2f} {eff if eff is None else round(eff, 2)!s:>9}{ref}"
            )
    report = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"cpu": platform.processor() or platform.machine(), "numba_threads": numba.get_num_threads()},
        "backend": args.backend,
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=1))
    tmp.replace(args.out)
    return report


if __name__ == "__main__":
    main()
