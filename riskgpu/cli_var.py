"""``riskgpu var``: VaR and ES of a portfolio file under a market folder, printed as a table or JSON."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

METHODS = ("historical", "parametric", "monte_carlo")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``var`` subcommand."""
    p = sub.add_parser(
        "var",
        help="VaR and ES of a portfolio file under a market folder (data/demo has an example)",
        description="Portfolio VaR/ES (rg.var). Options that do not apply to --method are errors, as in Python.",
    )
    p.add_argument("--portfolio", type=Path, required=True, help="portfolio CSV or Parquet")
    p.add_argument("--market", type=Path, required=True, help="market folder (market.toml, underlyings.csv, ...)")
    p.add_argument("--method", choices=METHODS, action="append", help="repeat for several (default: all three)")
    p.add_argument("--confidence", type=float, default=0.99)
    p.add_argument("--es-confidence", type=float, help="default: --confidence")
    p.add_argument("--horizon-days", type=int, default=1)
    p.add_argument("--n-scenarios", type=int, help="monte_carlo (default 10000)")
    p.add_argument("--seed", type=int, help="monte_carlo (default 0)")
    p.add_argument("--repair", choices=("none", "nearest"), default="none", help="correlation repair")
    p.add_argument("--backend", choices=("auto", "reference", "cpu", "gpu"), default="auto")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")


def run(args: argparse.Namespace, input_error: type[Exception]) -> int:
    """Compute and print; bad inputs raise ``input_error`` (exit code 2)."""
    import riskgpu as rg
    from riskgpu.risk.market import MarketError
    from riskgpu.risk.portfolio import PortfolioError

    try:
        market = rg.Market.read(args.market, repair=args.repair)
        portfolio = rg.Portfolio.read(args.portfolio)
        portfolio.check(market)
    except (MarketError, PortfolioError) as exc:
        raise input_error(str(exc)) from exc
    rows = []
    for method in args.method or list(METHODS):
        kw = {}
        if method == "monte_carlo":
            kw = {k: v for k, v in (("n_scenarios", args.n_scenarios), ("seed", args.seed)) if v is not None}
        elif args.n_scenarios is not None or args.seed is not None:
            if args.method:
                raise input_error(f"--n-scenarios/--seed apply only to --method monte_carlo, not {method}")
        try:
            res = rg.var(
                portfolio,
                market,
                method=method,
                confidence=args.confidence,
                es_confidence=args.es_confidence,
                horizon_days=args.horizon_days,
                backend=args.backend,
                **kw,
            )
        except (ValueError, TypeError) as exc:
            raise input_error(f"{method}: {exc}") from exc
        rows.append(res.summary() | {"elapsed_s": res.elapsed_s})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"portfolio {args.portfolio} ({len(portfolio)} positions), market {args.market} (as of {market.asof})")
    print(f"{'method':12} {'conf':>6} {'VaR':>14} {'ES conf':>7} {'ES':>14} {'95% CI of VaR':>29} {'s':>7}")
    for r in rows:
        ci = "" if r["var_ci"] is None else f"[{r['var_ci'][0]:.2f}, {r['var_ci'][1]:.2f}]"
        print(
            f"{r['method']:12} {r['confidence']:6.3f} {r['var']:14.2f} {r['es_confidence']:7.3f} {r['es']:14.2f} "
            f"{ci:>29} {r['elapsed_s']:7.2f}"
        )
    print(f"horizon {args.horizon_days} trading day(s); VaR and ES are positive losses; backend {rows[0]['backend']}")
    return 0
