"""Variance reduction measured: standard error at equal path count and at equal time.

    python benchmarks/variance_reduction.py [--paths 262144] [--repeat 3] [--backend cpu] [--randomisations 16]
                                            [--conv-max 18] [--out benchmarks/results/variance_reduction.json]

For each problem (European call, arithmetic Asian with 12 fixings, 3-asset basket; GBM) and each
method (plain, antithetic, control variate, both), ``rg.price`` runs on the same path count after a
warm-up call (compilation). Reported: stderr, best time of ``--repeat``, the variance-reduction factor
at equal paths ``(se_plain / se)^2``, and the stderr at equal time ``se * sqrt(t / t_plain)`` with its
efficiency gain ``(se_plain^2 t_plain) / (se^2 t)``.

QMC rows (``qmc=True``: scrambled Sobol + Brownian bridge, stderr over ``--randomisations`` independent
scramblings) use the largest ``randomisations * 2**m <= --paths``; the variance-reduction factor is
normalised per path, ``(se_plain^2 n_plain) / (se^2 n)``. QMC error does not scale like ``1/sqrt(n)``,
so its stderr at equal time is measured, not extrapolated: QMC is rerun at the largest
``randomisations * 2**m`` paths whose (extrapolated) time is within the plain run's, and that stderr is reported.
QMC paths run on the host (numpy) on every backend.

Convergence study (European call): plain MC's stderr and QMC's (from ``--randomisations`` scramblings)
at ``n = 2**10 .. 2**conv_max`` paths, with the least-squares slopes of ``log(stderr)`` on ``log(n)``
(plain: -0.5; QMC should be clearly steeper).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import platform
import time
from pathlib import Path

import numba
import numpy as np

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


def _qmc_run(problem: str, *, paths: int, repeat: int, backend: str, randomisations: int) -> tuple:
    """Best time of ``repeat`` QMC runs on ``paths`` paths: ``(result, seconds)``."""
    product, model = PROBLEMS[problem]
    best, res = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = rg.price(
            product, model, n_paths=paths, seed=2026, backend=backend, qmc=True, randomisations=randomisations
        )
        best = min(best, time.perf_counter() - t0)
    return res, best


def measure_qmc(problem: str, plain: dict, *, paths: int, repeat: int, backend: str, randomisations: int) -> dict:
    """The QMC row: at ``randomisations * 2**m <= paths`` paths, and again at about the plain run's time."""
    m = max(0, int(math.log2(paths // randomisations)))
    n = randomisations << m
    _qmc_run(problem, paths=randomisations * 16, repeat=1, backend=backend, randomisations=randomisations)
    res, seconds = _qmc_run(problem, paths=n, repeat=repeat, backend=backend, randomisations=randomisations)
    # Equal time: the largest 2**m_eq points per randomisation whose time (linear in paths) fits the plain run's.
    m_eq = math.floor(math.log2(max(n * plain["seconds"] / seconds, randomisations) / randomisations))
    m_eq = min(m_eq, m + 4)
    n_eq = randomisations << m_eq
    if n_eq == n:
        res_eq, seconds_eq = res, seconds
    else:
        res_eq, seconds_eq = _qmc_run(
            problem, paths=n_eq, repeat=repeat, backend=backend, randomisations=randomisations
        )
    return {
        "problem": problem,
        "method": "qmc",
        "paths": n,
        "value": res.value,
        "stderr": res.stderr,
        "seconds": seconds,
        "control": None,
        "beta": None,
        "randomisations": res.randomisations,
        "vr_equal_paths": (plain["stderr"] ** 2 * plain["paths"]) / (res.stderr**2 * n),
        "stderr_equal_time": res_eq.stderr,
        "paths_equal_time": n_eq,
        "seconds_equal_time": seconds_eq,
        "efficiency_gain": (plain["stderr"] ** 2 * plain["seconds"]) / (res.stderr**2 * seconds),
    }


def convergence(*, backend: str, randomisations: int, max_log2: int) -> dict:
    """European call: plain and QMC stderr at ``2**10 .. 2**max_log2`` paths and their fitted log-log slopes."""
    product, model = PROBLEMS["european"]
    ns = [1 << k for k in range(10, max_log2 + 1)]
    plain, qmc = [], []
    for n in ns:
        plain.append(rg.price(product, model, n_paths=n, seed=2026, backend=backend).stderr)
        qmc.append(
            rg.price(
                product, model, n_paths=n, seed=2026, backend=backend, qmc=True, randomisations=randomisations
            ).stderr
        )

    def slope(err: list) -> float:
        x = np.log(np.asarray(ns, dtype=float))
        a = np.vstack([np.ones_like(x), x]).T
        return float(np.linalg.lstsq(a, np.log(np.asarray(err)), rcond=None)[0][1])

    return {
        "problem": "european",
        "randomisations": randomisations,
        "paths": ns,
        "stderr_plain": plain,
        "stderr_qmc": qmc,
        "slope_plain": slope(plain),
        "slope_qmc": slope(qmc),
        "fit": "least squares of log(stderr) = a + slope * log(paths)",
    }


def main(argv: list[str] | None = None) -> int:
    """Run every (problem, method) and QMC, print the table and the convergence slopes, write JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=1 << 18)
    ap.add_argument("--randomisations", type=int, default=16)
    ap.add_argument("--conv-max", type=int, default=18, help="convergence study up to 2**conv_max paths")
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
        rows.append(
            measure_qmc(
                problem,
                plain,
                paths=args.paths,
                repeat=args.repeat,
                backend=args.backend,
                randomisations=args.randomisations,
            )
        )
    conv = convergence(backend=args.backend, randomisations=args.randomisations, max_log2=args.conv_max)
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
    print(
        f"\nqmc: {args.randomisations} randomisations; 'se @ time' for qmc is measured at the paths that fit the "
        "plain run's time: "
        + ", ".join(f"{r['problem']} {r['paths_equal_time']}" for r in rows if r["method"] == "qmc")
    )
    print(f"\nconvergence (European call, stderr vs paths, qmc over {args.randomisations} randomisations)")
    print(f"{'paths':>8} {'plain':>10} {'qmc':>10}")
    for n, p, q in zip(conv["paths"], conv["stderr_plain"], conv["stderr_qmc"], strict=True):
        print(f"{n:8d} {p:10.3e} {q:10.3e}")
    print(f"fitted slopes of log(stderr) on log(paths): plain {conv['slope_plain']:.3f}, qmc {conv['slope_qmc']:.3f}")
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": "python benchmarks/variance_reduction.py " + " ".join(argv or []),
        "backend": args.backend,
        "threads": numba.get_num_threads(),
        "machine": platform.processor() or platform.machine(),
        "qmc": (
            f"scrambled Sobol (linear matrix scramble + digital shift) + Brownian bridge, "
            f"{args.randomisations} randomisations; host Sobol and numpy reference paths on every backend"
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows, "convergence": conv}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
