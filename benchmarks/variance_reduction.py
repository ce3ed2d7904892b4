"""Variance reduction measured: standard error at equal path count and at equal time.

    python benchmarks/variance_reduction.py [--paths 200000] [--repeat 3] [--backend cpu]
                                            [--out benchmarks/results/variance_reduction.json]

For each problem (European call, arithmetic Asian with 12 fixings, 3-asset basket; GBM) and each
method (plain, antithetic, control variate, both), ``rg.price`` runs on the same path count after a
warm-up call (compilation). Reported: stderr, best time of ``--repeat``, the variance-reduction factor
at equal paths ``(se_plain / se)^2``, and the stderr at equal time ``se * sqrt(t / t_plain)`` with its
efficiency gain ``(se_plain^2 t_plain) / (se^2 t)``. QMC is not implemented yet (issue 4).
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

PROBLEMS = {
    "european": (rg.European(strike=100.0, maturity=1.0), rg.GBM(spot=100.0, vol=0.2, rate=0.03, div=0.01)),
    "asian_12": (
        rg.Asian(strike=100.0, maturity=1.0, n_fixings=12),
        rg.GBM(spot=100.0, vol=0.2, rate=0.03, div=0.01),
    ),
    "basket_3": (
        rg.Basket(strike=100.0, maturity=1.0, weights=[0.3, 0.3, 0.4]),
        rg.GBM(
            spot=[100.0, 90.0, 110.0],
            vol=[0.2, 0.3, 0.25],
            rate=0.03,
            corr=[[1.0, 0.5, 0.3], [0.5, 1.0, 0.4], [0.3, 0.4, 1.0]],
        ),
    ),
}
METHODS = {
    "plain": {},
    "antithetic": {"antithetic": True},
    "control": {"control_variate": True},
    "antithetic+control": {"antithetic": True, "control_variate": True},
}


def measure(problem: str, method: str, *, paths: int, repeat: int, backend: str) -> dict:
    """One row: the best of ``repeat`` timed runs after a warm-up."""
    product, model = PROBLEMS[problem]
    kwargs = {"seed": 2026, "backend": backend, **METHODS[method]}
    rg.price(product, model, n_paths=4096, **kwargs)  # compile
    best, res = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = rg.price(product, model, n_paths=paths, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return {
        "problem": problem,
        "method": method,
        "paths": paths,
        "value": res.value,
        "stderr": res.stderr,
        "seconds": best,
        "control": res.control,
        "beta": res.beta,
    }


def main(argv: list[str] | None = None) -> int:
    """Run every (problem, method), print the table, write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--backend", default="cpu", choices=("reference", "cpu", "gpu"))
    ap.add_argument("--out", type=Path, default=Path("benchmarks/results/variance_reduction.json"))
    args = ap.parse_args(argv)
    rows = []
    for problem in PROBLEMS:
        plain = None
        for method in METHODS:
            row = measure(problem, method, paths=args.paths, repeat=args.repeat, backend=args.backend)
            plain = plain or row
            row["vr_equal_paths"] = (plain["stderr"] / row["stderr"]) ** 2
            row["stderr_equal_time"] = row["stderr"] * (row["seconds"] / plain["seconds"]) ** 0.5
            row["efficiency_gain"] = (plain["stderr"] ** 2 * plain["seconds"]) / (row["stderr"] ** 2 * row["seconds"])
            rows.append(row)
    head = (
        f"{'problem':<10} {'method':<19} {'value':>9} {'stderr':>9} {'seconds':>8} {'VR (paths)':>10} "
        f"{'se @ time':>9} {'gain':>7} {'beta':>6}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        beta = "" if r["beta"] is None else f"{r['beta']:6.3f}"
        print(
            f"{r['problem']:<10} {r['method']:<19} {r['value']:9.4f} {r['stderr']:9.5f} {r['seconds']:8.3f} "
            f"{r['vr_equal_paths']:10.1f} {r['stderr_equal_time']:9.5f} {r['efficiency_gain']:7.1f} {beta:>6}"
        )
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/variance_reduction.py " + " ".join(argv or []),
        "backend": args.backend,
        "threads": numba.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "qmc": "not implemented yet (issue 4)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
