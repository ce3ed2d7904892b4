"""The ``riskgpu`` command line: ``run`` (the nightly batch), ``validate``, ``price``, ``var``, ``info``, ``bench``.

Exit codes: 0 ok, 1 run failed, 2 invalid input (arguments, config, input files), 3 partial (``run`` with
``on_error = "skip"`` skipped positions; the run folder is complete and its manifest says partial).
"""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_PARTIAL = 0, 1, 2, 3
_EPILOG = "exit codes: 0 ok, 1 run failed, 2 invalid input, 3 partial (positions skipped)"

_PRODUCTS = ("european", "digital", "asian")
#: what a config's [[products]] and [model] may name (flags cover the first three products and GBM)
_CONFIG_PRODUCTS = ("european", "digital", "asian", "barrier", "lookback", "basket", "american")
_MODELS = ("gbm", "heston", "merton")


class InputError(ValueError):
    """Invalid user input; the CLI exits with code 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="riskgpu", description="GPU Monte Carlo risk engine for option books.", epilog=_EPILOG
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from riskgpu import cli_run

    cli_run.add_parser(sub, _EPILOG)

    info = sub.add_parser("info", help="versions and which backends work here (and why not)")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pr = sub.add_parser(
        "price",
        help="price options by Monte Carlo, with the closed form beside where one exists",
        description="Price one option from flags, or the list of options in a TOML file (--config).",
    )
    pr.add_argument(
        "--config",
        type=Path,
        help="TOML file with [model] (type = gbm | heston | merton), [engine] and [[products]] (see configs/)",
    )
    pr.add_argument("--product", choices=_PRODUCTS, default="european")
    pr.add_argument("--kind", choices=("call", "put"), default="call")
    pr.add_argument("--strike", type=float, default=100.0)
    pr.add_argument("--maturity", type=float, default=1.0, help="years")
    pr.add_argument("--payout", type=float, default=1.0, help="digital cash amount")
    pr.add_argument("--n-fixings", type=int, default=12, help="Asian fixings")
    pr.add_argument("--average", choices=("arithmetic", "geometric"), default="arithmetic")
    pr.add_argument("--spot", type=float, help="default 100.0")
    pr.add_argument("--vol", type=float, help="default 0.2")
    pr.add_argument("--rate", type=float, help="default 0.03")
    pr.add_argument("--div", type=float, help="default 0.0")
    pr.add_argument("--n-paths", type=int, help="default 1000000")
    pr.add_argument("--n-steps", type=int, default=None)
    pr.add_argument("--seed", type=int, help="default 42")
    pr.add_argument("--stream", type=int, help="default 0")
    pr.add_argument("--backend", choices=("auto", "reference", "cpu", "gpu"), help="default auto")
    pr.add_argument("--dtype", choices=("float64", "float32"), help="default float64")
    pr.add_argument("--antithetic", action="store_true", default=None)
    pr.add_argument("--tolerance", type=float, help="add batches of --n-paths paths until the stderr is at most this")
    pr.add_argument("--max-paths", type=int, help="path cap with --tolerance (default 64 x --n-paths)")
    pr.add_argument(
        "--control-variate",
        action="store_true",
        default=None,
        help="subtract a control with a known mean priced on the same paths (beta reported)",
    )
    pr.add_argument(
        "--qmc",
        action="store_true",
        default=None,
        help="scrambled Sobol + Brownian bridge; --n-paths must be --randomisations x a power of two",
    )
    pr.add_argument("--randomisations", type=int, help="independent Sobol scramblings with --qmc (default 16)")
    pr.add_argument("--pilot-paths", type=int, help="American: paths the exercise policy is fitted on")
    pr.add_argument("--json", action="store_true", help="print JSON instead of a table")
    from riskgpu import cli_bench, cli_var

    cli_var.add_parser(sub)
    cli_bench.add_parser(sub)
    va = sub.add_parser(
        "validate",
        help="check a run config and every input file it names (each VaR run tried on one position)",
        description="Validate a run config (TOML): keys, types and ranges, the portfolio against the market, "
        "each VaR run's options and each stress scenario. Exit 0 when valid, 2 with the file, key or row named.",
    )
    va.add_argument("config", type=Path)
    va.add_argument("--asof", type=cli_run.parse_date, help="YYYY-MM-DD, as for run (${ASOF} in paths)")
    va.add_argument("--json", action="store_true", help="print the summary as JSON")
    return p


def _product(rg: object, spec: dict, where: str) -> object:
    spec = dict(spec)
    name = spec.pop("product", "european")
    classes = {name: getattr(rg, name.capitalize()) for name in _CONFIG_PRODUCTS}
    if name not in classes:
        raise InputError(f"{where}.product must be one of {', '.join(map(repr, classes))}, got {name!r}")
    try:
        return classes[name](**spec)
    except TypeError as exc:
        raise InputError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None


def _model(rg: object, spec: dict, where: str) -> object:
    spec = dict(spec)
    name = spec.pop("type", "gbm")
    if name not in _MODELS:
        raise InputError(f"{where}: [model] type must be one of {', '.join(map(repr, _MODELS))}, got {name!r}")
    try:
        return {"gbm": rg.GBM, "heston": rg.Heston, "merton": rg.Merton}[name](**spec)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: [model] {exc}") from None


def _oracle(rg: object, product: object, model: object) -> float | None:
    """The exact closed form beside a Monte Carlo price, where one exists (approximations are left out)."""
    if getattr(product, "multi_asset", False):
        return None
    if isinstance(model, rg.Heston):
        if not isinstance(product, rg.European):
            return None
        p = {k: getattr(model, k) for k in ("spot", "v0", "kappa", "theta", "xi", "rho", "rate", "div")}
        return rg.analytic.heston_price(kind=product.kind, strike=product.strike, maturity=product.maturity, **p)
    if isinstance(model, rg.Merton):
        if not isinstance(product, rg.European):
            return None
        p = {k: getattr(model, k) for k in ("spot", "vol", "rate", "div", "lam", "jump_mean", "jump_std")}
        return rg.analytic.merton_price(kind=product.kind, strike=product.strike, maturity=product.maturity, **p)
    mkt = {"spot": model.spots[0], "vol": model.vols[0], "rate": model.rate, "div": model.divs[0]}
    if isinstance(product, rg.Lookback):
        if product.monitoring != "continuous":
            return None
        extremes = {"running_max": product.running_max, "running_min": product.running_min}
        return rg.analytic.lookback_price(
            kind=product.kind, strike=product.strike, maturity=product.maturity, **extremes, **mkt
        )
    common = {"kind": product.kind, "strike": product.strike, "maturity": product.maturity, **mkt}
    if isinstance(product, rg.Barrier):
        if product.monitoring != "continuous" or product.knocked:
            return None
        terms = {k: getattr(product, k) for k in ("barrier", "direction", "knock", "rebate")}
        return rg.analytic.barrier_price(**common, **terms)
    if isinstance(product, rg.Asian) and (product.past_fixings or product.barrier is not None):
        return None
    if isinstance(product, rg.European):
        return float(rg.bs_price(**common))
    if isinstance(product, rg.Digital):
        return float(rg.digital_price(**common, payout=product.payout))
    if isinstance(product, rg.Asian) and product.average == "geometric":
        return rg.geometric_asian_price(**common, n_fixings=product.n_fixings)
    return None


def _label(product: object) -> str:
    """A short, unambiguous row label: ``asian geometric call K=100 T=1 n=12``."""
    name = type(product).__name__.lower()
    extra = ""
    if hasattr(product, "average"):
        name += f" {product.average[:5]}"
        extra = f" n={product.n_fixings}"
    if hasattr(product, "payout"):
        extra = f" pays {product.payout:g}"
    if hasattr(product, "knock"):
        name += f" {product.direction}-{product.knock} {product.monitoring[:4]}"
        extra = f" B={product.barrier:g}"
    if hasattr(product, "running_max"):
        name += f" {product.monitoring[:4]}"
    if getattr(product, "lsm", False):
        name = "american" if product.exercise_today else "bermudan"
        extra = f" dates={len(product.exercise_times())}"
    strike = "float" if product.strike is None else f"{product.strike:g}"
    return f"{name} {product.kind} K={strike} T={product.maturity:g}{extra}"


def _load_config(path: Path) -> tuple[dict, dict, list[dict]]:
    try:
        doc = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(doc) - {"model", "engine", "products"}
    if unknown:
        raise InputError(f"{path}: unknown section(s) {sorted(unknown)}; expected model, engine, products")
    products = doc.get("products", [])
    if not isinstance(products, list) or not products:
        raise InputError(f"{path}: [[products]] must list at least one product")
    return dict(doc.get("model", {})), dict(doc.get("engine", {})), products


def _price(args: argparse.Namespace) -> int:
    import riskgpu as rg

    # precedence: flags given on the command line > the config file > these defaults
    engine = {
        "n_paths": 1_000_000,
        "n_steps": None,
        "seed": 42,
        "stream": 0,
        "backend": "auto",
        "dtype": "float64",
        "antithetic": False,
        "tolerance": None,
        "max_paths": None,
        "control_variate": False,
        "qmc": False,
        "randomisations": 16,
        "pilot_paths": None,
    }
    model_spec = {"spot": 100.0, "vol": 0.2, "rate": 0.03, "div": 0.0}
    flags_engine = {k: getattr(args, k) for k in engine if getattr(args, k) is not None}
    flags_model = {k: getattr(args, k) for k in model_spec if getattr(args, k) is not None}
    where = "arguments"
    if args.config is not None:
        m, e, specs = _load_config(args.config)
        where = str(args.config)
        bad = set(e) - set(engine)
        if bad:
            raise InputError(f"{where}: unknown key(s) in [engine]: {sorted(bad)}; allowed: {sorted(engine)}")
        model_spec, engine = {**model_spec, **m}, {**engine, **e}
        products = [_product(rg, s, f"{where}: products[{i}]") for i, s in enumerate(specs)]
    else:
        spec = {"product": args.product, "kind": args.kind, "strike": args.strike, "maturity": args.maturity}
        if args.product == "digital":
            spec["payout"] = args.payout
        if args.product == "asian":
            spec.update(n_fixings=args.n_fixings, average=args.average)
        products = [_product(rg, spec, where)]
    engine.update(flags_engine)
    model_spec.update(flags_model)
    if model_spec.get("type", "gbm") != "gbm":  # the GBM defaults (vol) do not apply to other models
        explicit = {**(m if args.config is not None else {}), **flags_model}
        model_spec = {k: v for k, v in model_spec.items() if k in explicit or k != "vol"}
    model = _model(rg, model_spec, where)
    if engine["max_paths"] is not None and engine["tolerance"] is None:
        raise InputError(f"{where}: max_paths={engine['max_paths']!r} applies only with a tolerance")
    rows = []
    for i, product in enumerate(products):
        try:
            # pilot_paths is an engine setting of the American (Longstaff-Schwartz) products only
            kwargs = (
                engine if getattr(product, "lsm", False) else {k: v for k, v in engine.items() if k != "pilot_paths"}
            )
            res = rg.price(product, model, **kwargs)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{where}: products[{i}]: {exc}") from None
        exact = _oracle(rg, product, model)
        rows.append({"product": repr(product), "label": _label(product), **res.to_dict(), "closed_form": exact})
    if args.json:
        print(json.dumps(rows, indent=1))
        return EXIT_OK
    print(f"model: {model!r}")
    head = f"{'product':<42} {'value':>12} {'stderr':>10} {'closed form':>12} {'z':>6} {'backend':>9} {'sec':>7}"
    print(head)
    print("-" * len(head))
    for r in rows:
        cf = "" if r["closed_form"] is None else f"{r['closed_form']:12.6f}"
        z = (
            ""
            if r["closed_form"] is None or r["stderr"] == 0
            else f"{(r['value'] - r['closed_form']) / r['stderr']:6.2f}"
        )
        print(
            f"{r['label']:<42} {r['value']:12.6f} {r['stderr']:10.6f} {cf:>12} {z:>6} "
            f"{r['backend'] + '/' + r['dtype'][-2:]:>9} {r['elapsed_s']:7.2f}"
        )
    used = sorted({r["n_paths"] for r in rows})
    paths = f"n_paths={used[0]}" if len(used) == 1 else f"n_paths {used[0]}..{used[-1]}"
    if engine["tolerance"] is not None:
        met = sum(r["stopped"] == "tolerance" for r in rows)
        rest = "" if met == len(rows) else ", the others stopped at max_paths"
        paths += f" (tolerance {engine['tolerance']:g} met by {met} of {len(rows)}{rest})"
    print(f"{paths} seed={engine['seed']}; z = (value - closed form) / stderr")
    return EXIT_OK


def _info(args: argparse.Namespace) -> int:
    import riskgpu as rg
    from riskgpu.batch.outputs import versions as package_versions
    from riskgpu.cli_run import devices
    from riskgpu.kernels.cache import location
    from riskgpu.kernels.vmath import vector_width

    try:
        width = vector_width()
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    versions = package_versions()
    info = {"versions": versions, "backends": {k: vars(v) for k, v in rg.backends().items()}, "devices": devices(),
            "kernel_cache": location(), "cpu_vector_width": width}  # fmt: skip
    if args.json:
        print(json.dumps(info, indent=1))
        return EXIT_OK
    for k, v in versions.items():
        print(f"{k:<14} {v or 'not installed'}")
    print()
    for name, b in info["backends"].items():
        print(f"{name:<10} {'yes' if b['available'] else 'no ':<4} {b['detail']}")
    print()
    print(f"cpu        {info['devices']['cpu']}")
    for d in info["devices"]["gpus"]:
        print(f"gpu {d['id']:<6} {d['name']} (compute capability {d['compute_capability']}, {d['memory_gib']} GiB)")
    if not info["devices"]["gpus"]:
        print("gpu        none")
    cached = info["kernel_cache"]
    off = "not cached on disk (RISKGPU_KERNEL_CACHE=0, or no writable place)"
    print(f"kernels    {'cached in ' + cached if cached else off}")
    wide = "512-bit where the CPU has AVX-512" if width == "512" else "LLVM's choice for this CPU"
    print(f"vectors    {wide} (RISKGPU_VECTOR_WIDTH={width})")
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    from riskgpu.config import ConfigError
    from riskgpu.risk.market import MarketError
    from riskgpu.risk.portfolio import PortfolioError
    from riskgpu.runner import validate

    try:
        _, summary = validate(args.config, asof=args.asof)
    except (ConfigError, MarketError, PortfolioError, ValueError) as exc:
        raise InputError(str(exc)) from exc
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(f"{args.config}: valid ({summary['positions']} positions on {summary['underlyings']} underlyings, as of "
              f"{summary['asof']}; {len(summary['var_runs'])} VaR runs, {len(summary['stress_scenarios'])} stress "
              f"scenarios, backtest {'yes' if summary['backtest'] else 'no'})")  # fmt: skip
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``riskgpu`` command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "var":
            from riskgpu import cli_var

            return cli_var.run(args, InputError)
        if args.command == "validate":
            return _validate(args)
        if args.command == "run":
            from riskgpu import cli_run

            return cli_run.run(args, InputError)
        if args.command == "bench":
            from riskgpu import cli_bench

            return cli_bench.run(args, InputError)
        return {"info": _info, "price": _price}[args.command](args)
    except InputError as exc:
        print(f"riskgpu: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:
        if getattr(args, "log_level", None) == "debug":
            import traceback

            traceback.print_exc()
        print(f"riskgpu: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    raise SystemExit(main())
