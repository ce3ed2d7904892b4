"""The nightly runner (issue 7), first slice: ``validate`` checks a run config and every input it names
without computing anything; ``riskgpu validate CONFIG`` is its command."""

from __future__ import annotations

from pathlib import Path

from riskgpu.config import ConfigError, RunConfig, load_config

#: ``[[risk]]`` keys that are not ``rg.var`` method options.
_COMMON = {"name", "method", "confidence", "es_confidence", "horizon_days", "stressed"}


def validate(path: str | Path) -> tuple[RunConfig, dict]:
    """Load the config, read the market and the portfolio, check the portfolio against the market, the as-of
    date, every VaR run's options against its method and every stress scenario's underlyings.

    Returns ``(config, summary)``; any problem is a ``ConfigError`` (or the inputs' own ``PortfolioError`` /
    ``MarketError``) naming the file, key or row, and the value.
    """
    import riskgpu as rg
    from riskgpu.risk.var import _OPTIONS

    config = load_config(path)
    market = rg.Market.read(config.inputs.market, repair=config.inputs.repair)
    if config.inputs.asof is not None and config.inputs.asof != market.asof:
        raise ConfigError(
            f"{path}: inputs.asof = {config.inputs.asof.isoformat()} but the market in {config.inputs.market} is as "
            f"of {market.asof.isoformat()}"
        )
    portfolio = rg.Portfolio.read(config.inputs.portfolio)
    portfolio.check(market)
    for i, run in enumerate(config.risk):
        given = {k for k, v in run.model_dump().items() if v is not None and k not in _COMMON}
        bad = sorted(given - _OPTIONS[run.method])
        if bad:
            raise ConfigError(f"{path}: risk[{i}] ({run.name!r}): method {run.method!r} does not take {', '.join(bad)}")
    names = set(market.names) | {"*"}
    for i, s in enumerate(config.stress):
        for field in ("spot", "vol"):
            shocks = getattr(s, field)
            unknown = sorted(set(shocks) - names) if isinstance(shocks, dict) else []
            if unknown:
                raise ConfigError(f"{path}: stress[{i}].{field} ({s.name!r}): unknown underlying(s) {unknown}")
        scenario = rg.StressScenario(**s.model_dump())
        for name in sorted({u for p in portfolio.positions for u in p.underlyings}):
            vol = float(market.vol_vector([name])[0]) + scenario.shock_for("vol", name)
            if vol < 0:
                raise ConfigError(f"{path}: stress[{i}].vol ({s.name!r}): the vol of {name} would be {vol:.6g} < 0")
    summary = {
        "config": str(path),
        "positions": len(portfolio),
        "underlyings": len({u for p in portfolio.positions for u in p.underlyings}),
        "asof": market.asof.isoformat(),
        "var_runs": [r.name for r in config.risk],
        "stress_scenarios": [s.name for s in config.stress],
        "backtest": config.backtest is not None,
        "outputs": str(config.outputs.folder),
    }
    return config, summary
