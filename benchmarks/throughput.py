"""Monte Carlo throughput, path-steps per second: riskgpu's backends against plain numpy and QuantLib.

    python benchmarks/throughput.py [--paths 1000000] [--ql-paths 100000] [--repeat 3] [--dtype both]
                                    [--problems european_1step,asian_252,heston_100] [--out FILE.json]

Problems: a European call in 1 step; an arithmetic Asian call with 252 daily fixings (252 steps over
252/365 years: whole days for QuantLib's calendar); a European call under Heston in 100 steps
(full-truncation Euler in every column, so the work per step is comparable).

Columns, each pricing the same problem (same model, product and time grid; its own random numbers):

- ``numpy``: a vectorised numpy implementation written here, independent of riskgpu:
  ``np.random.default_rng`` normals, exact log-space GBM steps, Heston full-truncation Euler; paths in
  batches of at most ``--batch`` numbers. Single-threaded; the ratio columns are against it (in the row's
  dtype, and in float32).
- ``reference``, ``cpu``: ``rg.price`` on riskgpu's numpy reference and numba ``prange`` backends;
  ``gpu`` only on a real CUDA device (never numba's simulator).
- ``quantlib``: ``MCEuropeanEngine``, ``MCDiscreteArithmeticAPEngine`` and ``MCEuropeanHestonEngine``
  (``FullTruncation``), pseudorandom, no control variate, no antithetics; single-threaded, double
  precision only (float64 rows), ``--ql-paths`` paths, compared per path-step.

Each cell: a warm-up call on ``WARMUP_PATHS`` paths first (it absorbs numba's compilation, reported as
``compile_s`` for the numba columns), then the best of ``--repeat`` timed runs. Prices must agree with
the numpy column within ``AGREE_Z`` combined standard errors, else the row is flagged ``WARN``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

import riskgpu as rg
from riskgpu.backends import cpu_model
from riskgpu.backends import gpu as _gpu

#: Paths of the warm-up call that precedes every timed cell.
WARMUP_PATHS = 64
#: Prices agree when ``|a - b| <= AGREE_Z * sqrt(se_a**2 + se_b**2)``.
AGREE_Z = 4.0
#: QuantLib's day count is Actual/365 Fixed: whole days are exact fractions of a year, so the maturities
#: below are whole days and the Asian's 252 daily fixings fall on the grid ``i / 365`` of the other columns.
#: (Business/252 would make 252 days one year, but it slows QuantLib's path generation about 200-fold.)
QL_DAYS_PER_YEAR = 365
COLUMNS = ("numpy", "reference", "cpu", "gpu", "quantlib")


@dataclass(frozen=True)
class Problem:
    """One benchmark problem: a riskgpu product and model plus the number of time steps."""

    name: str
    kind: str  # "gbm_european" | "gbm_asian" | "heston_european"
    product: object
    model: object
    steps: int


GBM_MODEL = rg.GBM(spot=100.0, vol=0.2, rate=0.03, div=0.01)
HESTON_MODEL = rg.Heston(
    spot=100.0, v0=0.04, kappa=1.5, theta=0.04, xi=0.3, rho=-0.7, rate=0.03, div=0.01, scheme="euler"
)
PROBLEMS = {
    p.name: p
    for p in (
        Problem("european_1step", "gbm_european", rg.European(strike=100.0, maturity=1.0), GBM_MODEL, 1),
        Problem("asian_252", "gbm_asian", rg.Asian(strike=100.0, maturity=252 / 365, n_fixings=252), GBM_MODEL, 252),
        Problem("heston_100", "heston_european", rg.European(strike=100.0, maturity=1.0), HESTON_MODEL, 100),
    )
}


# --------------------------------------------------------------------------------------------------
# The independent numpy implementation


def _gbm_european_np(p: Problem, rng: np.random.Generator, n: int, dt: np.dtype) -> np.ndarray:
    m, prod, d = p.model, p.product, dt.type
    t = prod.maturity
    z = rng.standard_normal(n, dtype=dt)
    z *= d(m.vol * math.sqrt(t))
    z += d((m.rate - m.div - 0.5 * m.vol * m.vol) * t)
    np.exp(z, out=z)
    z *= d(m.spot)
    z -= d(prod.strike)
    np.maximum(z, d(0.0), out=z)
    return z


def _gbm_asian_np(p: Problem, rng: np.random.Generator, n: int, dt: np.dtype) -> np.ndarray:
    m, prod, d = p.model, p.product, dt.type
    h = prod.maturity / p.steps
    every = p.steps // prod.n_fixings
    x = rng.standard_normal((n, p.steps), dtype=dt)
    x *= d(m.vol * math.sqrt(h))
    x += d((m.rate - m.div - 0.5 * m.vol * m.vol) * h)
    np.cumsum(x, axis=1, out=x)  # log(S / spot) at the end of each step
    np.exp(x, out=x)
    avg = x[:, every - 1 :: every].mean(axis=1, dtype=dt) * d(m.spot)
    avg -= d(prod.strike)
    return np.maximum(avg, d(0.0), out=avg)


def _heston_european_np(p: Problem, rng: np.random.Generator, n: int, dt: np.dtype) -> np.ndarray:
    """Full-truncation Euler (Lord et al. 2010) for ``(log S, v)``, vectorised over paths, looped over steps."""
    m, prod, d = p.model, p.product, dt.type
    h = prod.maturity / p.steps
    mu_h, kh, sqh = d((m.rate - m.div) * h), d(m.kappa * h), d(math.sqrt(h))
    half_h, theta, xi = d(0.5 * h), d(m.theta), d(m.xi)
    rho, rhob = d(m.rho), d(math.sqrt(1.0 - m.rho * m.rho))
    x = np.zeros(n, dtype=dt)
    v = np.full(n, m.v0, dtype=dt)
    vp = np.empty_like(v)
    sd = np.empty_like(v)
    tmp = np.empty_like(v)
    for _ in range(p.steps):
        z = rng.standard_normal((2, n), dtype=dt)
        np.maximum(v, d(0.0), out=vp)
        np.sqrt(vp, out=sd)
        sd *= sqh  # sqrt(v+ h)
        # x += (mu - v+/2) h + sqrt(v+ h) (rho z0 + rhob z1)
        np.multiply(z[1], rhob, out=tmp)
        tmp += rho * z[0]
        tmp *= sd
        tmp -= half_h * vp
        x += tmp
        x += mu_h
        # v += kappa (theta - v+) h + xi sqrt(v+ h) z0
        np.multiply(sd, z[0], out=tmp)
        tmp *= xi
        v += tmp
        v += kh * (theta - vp)
    np.exp(x, out=x)
    x *= d(m.spot)
    x -= d(prod.strike)
    return np.maximum(x, d(0.0), out=x)


NUMPY_PAYOFFS: dict[str, Callable] = {
    "gbm_european": _gbm_european_np,
    "gbm_asian": _gbm_asian_np,
    "heston_european": _heston_european_np,
}


def numpy_price(p: Problem, *, n_paths: int, dtype: str, seed: int, batch: int) -> tuple[float, float]:
    """Independent numpy Monte Carlo price and standard error of ``p`` (payoffs summed in float64)."""
    dt = np.dtype(dtype)
    rng = np.random.default_rng(seed)
    per_path = p.steps if p.kind == "gbm_asian" else 8  # stored numbers per path
    chunk = max(1, batch // per_path)
    disc = math.exp(-p.model.rate * p.product.maturity)
    s = q = 0.0
    for start in range(0, n_paths, chunk):
        pay = NUMPY_PAYOFFS[p.kind](p, rng, min(chunk, n_paths - start), dt).astype(np.float64)
        s += float(pay.sum())
        q += float(pay @ pay)
    mean = s / n_paths
    var = max(q - s * mean, 0.0) / (n_paths - 1)
    return disc * mean, disc * math.sqrt(var / n_paths)


# --------------------------------------------------------------------------------------------------
# QuantLib


def quantlib_status() -> tuple[bool, str]:
    """``(available, detail)`` of the QuantLib column."""
    try:
        import QuantLib as ql  # noqa: N813 (the usual alias)
    except Exception as exc:
        return False, f"QuantLib not importable ({exc})"
    return True, f"QuantLib {ql.__version__}, single-threaded, pseudorandom (Mersenne twister), float64"


def quantlib_price(p: Problem, *, n_paths: int, seed: int) -> tuple[float, float, float]:
    """``(value, stderr, seconds)`` from QuantLib's Monte Carlo engine; the clock covers engine and NPV."""
    import QuantLib as ql  # noqa: N813 (the usual alias)

    today = ql.Date(24, 11, 2026)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    days = round(p.product.maturity * QL_DAYS_PER_YEAR)
    if abs(days / QL_DAYS_PER_YEAR - p.product.maturity) > 1e-12:
        raise ValueError(f"maturity {p.product.maturity} is not a whole number of days of {QL_DAYS_PER_YEAR}")
    m = p.model
    spot = ql.QuoteHandle(ql.SimpleQuote(m.spot))
    rate = ql.YieldTermStructureHandle(ql.FlatForward(today, m.rate, dc))
    div = ql.YieldTermStructureHandle(ql.FlatForward(today, m.div, dc))
    payoff = ql.PlainVanillaPayoff(ql.Option.Call if p.product.kind == "call" else ql.Option.Put, p.product.strike)
    exercise = ql.EuropeanExercise(today + days)
    if p.kind == "heston_european":
        process = ql.HestonProcess(
            rate, div, spot, m.v0, m.kappa, m.theta, m.xi, m.rho, ql.HestonProcess.FullTruncation
        )
        option = ql.VanillaOption(payoff, exercise)

        def engine():
            return ql.MCEuropeanHestonEngine(
                process, "pseudorandom", timeSteps=p.steps, requiredSamples=n_paths, seed=seed
            )

    else:
        vol = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), m.vol, dc))
        process = ql.BlackScholesMertonProcess(spot, div, rate, vol)
        if p.kind == "gbm_european":
            option = ql.VanillaOption(payoff, exercise)

            def engine():
                return ql.MCEuropeanEngine(
                    process, "pseudorandom", timeSteps=p.steps, requiredSamples=n_paths, seed=seed
                )

        else:
            n_fix = p.product.n_fixings
            if days % n_fix:
                raise ValueError(f"QuantLib fixings need {days} days to be a multiple of n_fixings={n_fix}")
            dates = [today + days * i // n_fix for i in range(1, n_fix + 1)]
            option = ql.DiscreteAveragingAsianOption(ql.Average.Arithmetic, 0.0, 0, dates, payoff, exercise)

            def engine():
                return ql.MCDiscreteArithmeticAPEngine(
                    process, "pseudorandom", controlVariate=False, requiredSamples=n_paths, seed=seed
                )

    t0 = time.perf_counter()
    option.setPricingEngine(engine())
    value = option.NPV()
    se = option.errorEstimate()
    return value, se, time.perf_counter() - t0


# --------------------------------------------------------------------------------------------------
# Timing


def _timed(fn: Callable[[], tuple[float, float]]) -> tuple[float, float, float]:
    t0 = time.perf_counter()
    value, se = fn()
    return value, se, time.perf_counter() - t0


def run_cell(p: Problem, column: str, dtype: str, *, n_paths: int, repeat: int, seed: int, batch: int) -> dict:
    """Warm-up call, then best of ``repeat`` timed runs of one (problem, column, dtype) cell."""

    def once(n: int) -> tuple[float, float, float]:
        if column == "numpy":
            return _timed(lambda: numpy_price(p, n_paths=n, dtype=dtype, seed=seed, batch=batch))
        if column == "quantlib":
            return quantlib_price(p, n_paths=n, seed=seed)
        res = rg.price(p.product, p.model, n_paths=n, n_steps=p.steps, seed=seed, backend=column, dtype=dtype)
        return res.value, res.stderr, res.elapsed_s

    t0 = time.perf_counter()
    once(WARMUP_PATHS)
    first = time.perf_counter() - t0
    runs = [once(n_paths) for _ in range(repeat)]
    value, se, _ = runs[-1]
    best = min(r[2] for r in runs)
    return {
        "problem": p.name,
        "column": column,
        "dtype": dtype,
        "status": "ok",
        "paths": n_paths,
        "steps": p.steps,
        "first_call_s": first,
        "compile_s": first if column in ("cpu", "gpu") else None,
        "runs_s": [r[2] for r in runs],
        "best_s": best,
        "path_steps_per_s": n_paths * p.steps / best,
        "value": value,
        "stderr": se,
    }


def _na_row(p: Problem, column: str, dtype: str, detail: str) -> dict:
    return {"problem": p.name, "column": column, "dtype": dtype, "status": "n/a", "steps": p.steps, "detail": detail}


def compare(rows: list[dict]) -> None:
    """Add ``ratio_to_numpy`` (against numpy in the row's dtype), ``ratio_to_numpy_f32`` (against numpy in
    float32, the issue's baseline for both dtypes; None when float32 was not run), ``z_vs_numpy`` and
    ``agree`` to every timed row (in place)."""

    def numpy_row(problem: str, dtype: str) -> dict | None:
        """The timed numpy row of ``problem`` in ``dtype``, or None."""
        found = (x for x in rows if x["problem"] == problem and x["column"] == "numpy" and x["dtype"] == dtype)
        base = next(found, None)
        return base if base is not None and base["status"] == "ok" else None

    for r in rows:
        if r["status"] != "ok":
            continue
        base32 = numpy_row(r["problem"], "float32")
        r["ratio_to_numpy_f32"] = r["path_steps_per_s"] / base32["path_steps_per_s"] if base32 else None
        base = numpy_row(r["problem"], r["dtype"])
        if base is None:
            r.update(ratio_to_numpy=None, z_vs_numpy=None, agree=None)
            continue
        se = math.hypot(r["stderr"], base["stderr"])
        z = (r["value"] - base["value"]) / se if se > 0 else (0.0 if r["value"] == base["value"] else math.inf)
        r.update(ratio_to_numpy=r["path_steps_per_s"] / base["path_steps_per_s"], z_vs_numpy=z, agree=abs(z) <= AGREE_Z)


def column_status(names: list[str]) -> dict[str, dict]:
    """Which columns can run here, and why not."""
    out = {
        "numpy": {"available": True, "detail": f"numpy {np.__version__} vectorised, single-threaded"},
        "reference": {"available": True, "detail": rg.backends()["reference"].detail},
        "cpu": {"available": True, "detail": rg.backends()["cpu"].detail},
    }
    ok, why = _gpu.status()
    if ok and _gpu.simulated():
        ok, why = False, "numba's CUDA simulator is on (NUMBA_ENABLE_CUDASIM=1): not timed"
    out["gpu"] = {"available": ok, "detail": why}
    ok, why = quantlib_status()
    out["quantlib"] = {"available": ok, "detail": why}
    return {c: out[c] for c in names}


def _fmt(x: float | None, spec: str) -> str:
    return "-".rjust(int(spec.split(".")[0])) if x is None else format(x, spec)


def print_table(rows: list[dict]) -> None:
    """The rows as a plain-text table."""
    head = (
        f"{'problem':<15} {'column':<10} {'dtype':<8} {'paths':>9} {'steps':>5} {'compile s':>9} {'best s':>8} "
        f"{'path-steps/s':>12} {'vs numpy':>9} {'vs np f32':>9} {'price':>9} {'stderr':>8} {'z':>6}  check"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        lead = f"{r['problem']:<15} {r['column']:<10} {r['dtype']:<8}"
        if r["status"] != "ok":
            print(f"{lead} {'n/a':>9} {r['steps']:>5}  {r['detail']}")
            continue
        check = "-" if r.get("agree") is None else ("ok" if r["agree"] else f"WARN |z| > {AGREE_Z:g}")
        if r["column"] == "numpy":
            check = "(baseline)"
        print(
            f"{lead} {r['paths']:>9} {r['steps']:>5} {_fmt(r['compile_s'], '9.2f')} {r['best_s']:8.3f} "
            f"{r['path_steps_per_s']:12.3e} {_fmt(r.get('ratio_to_numpy'), '8.2f')}x "
            f"{_fmt(r.get('ratio_to_numpy_f32'), '8.2f')}x {r['value']:9.4f} "
            f"{r['stderr']:8.4f} {_fmt(r.get('z_vs_numpy'), '6.2f')}  {check}"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; print the table and write the JSON. Exit code 0 (1 on a bad option)."""
    # compile time is measured cold (the kernel cache off unless asked for): benchmarks/compile_cache.py
    # measures what the cache saves
    os.environ.setdefault("RISKGPU_KERNEL_CACHE", "0")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=1_000_000, help="paths for riskgpu and numpy")
    ap.add_argument("--ql-paths", type=int, default=100_000, help="paths for QuantLib (compared per path-step)")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per cell; the best counts")
    ap.add_argument("--dtype", choices=("float64", "float32", "both"), default="both")
    ap.add_argument("--problems", default=",".join(PROBLEMS), help=f"comma-separated subset of {','.join(PROBLEMS)}")
    ap.add_argument("--columns", default=",".join(COLUMNS), help=f"comma-separated subset of {','.join(COLUMNS)}")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--batch", type=int, default=1 << 22, help="numbers per numpy batch (bounds its memory)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "throughput.json")
    args = ap.parse_args(argv)
    problems = [s.strip() for s in args.problems.split(",") if s.strip()]
    columns = [s.strip() for s in args.columns.split(",") if s.strip()]
    bad = [x for x in problems if x not in PROBLEMS] + [x for x in columns if x not in COLUMNS]
    if bad or args.paths < 2 or args.ql_paths < 2 or args.repeat < 1:
        ap.error(f"unknown problem/column {bad}" if bad else "--paths/--ql-paths need >= 2, --repeat >= 1")
    if "numpy" not in columns:
        columns.insert(0, "numpy")  # the baseline of the ratio and the price check
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    status = column_status(columns)
    rows = []
    for name in problems:
        p = PROBLEMS[name]
        for dtype in dtypes:
            for column in columns:
                if column == "quantlib" and dtype != "float64":
                    continue  # QuantLib computes in double only
                if not status[column]["available"]:
                    if column != "gpu":  # no gpu rows without a real device; the footnote says why
                        rows.append(_na_row(p, column, dtype, status[column]["detail"]))
                    continue
                n = args.ql_paths if column == "quantlib" else args.paths
                rows.append(run_cell(p, column, dtype, n_paths=n, repeat=args.repeat, seed=args.seed, batch=args.batch))
                r = rows[-1]
                print(f"  {name} {column} {dtype}: {r['best_s']:.3f} s", file=sys.stderr, flush=True)
    compare(rows)
    meta = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_model": cpu_model(),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "threads": {
            "cpu (numba.get_num_threads)": numba.get_num_threads(),
            "numpy": "1 (vectorised elementwise code; no BLAS in the hot path)",
            "reference": "1 (numpy)",
            "quantlib": "1 (QuantLib's Monte Carlo engines are single-threaded)",
        },
        "repeat": args.repeat,
        "warmup_paths": WARMUP_PATHS,
        "agree_z": AGREE_Z,
        "seed": args.seed,
        "numpy_batch": args.batch,
        "columns": status,
        "problems": {
            n: {"kind": PROBLEMS[n].kind, "steps": PROBLEMS[n].steps, "product": repr(PROBLEMS[n].product)}
            | {"model": repr(PROBLEMS[n].model)}
            for n in problems
        },
    }
    print_table(rows)
    print(
        f"best of {args.repeat} after a {WARMUP_PATHS}-path warm-up; compile s = that first call (numba columns); "
        f"cpu threads {numba.get_num_threads()} of {os.cpu_count()} CPUs ({meta['cpu_model']}); numpy and "
        f"QuantLib single-threaded; QuantLib float64 only, {args.ql_paths} paths, compared per path-step; "
        f"z = (price - numpy) / combined stderr"
    )
    for c, s in status.items():
        if not s["available"]:
            print(f"{c}: not run: {s['detail']}")
    warn = [r for r in rows if r.get("agree") is False]
    if warn:
        print(f"WARNING: {len(warn)} cell(s) disagree with numpy by more than {AGREE_Z:g} stderr")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
