"""Incremental VaR: what a position or a candidate trade adds to the book's VaR and ES."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from riskgpu.risk.var import run_var


@dataclass(frozen=True)
class IncrementalVaR:
    """``var_with - var_without`` (and the same for ES); ``with_`` and ``without`` are the two full results."""

    incremental_var: float
    incremental_es: float
    var_with: float
    var_without: float
    es_with: float
    es_without: float
    with_: object
    without: object

    def summary(self) -> dict:
        """The figures as a plain dict."""
        keys = ("incremental_var", "incremental_es", "var_with", "var_without", "es_with", "es_without")
        return {k: getattr(self, k) for k in keys}


def _as_portfolio(trade: object) -> object:
    from riskgpu.risk.portfolio import Portfolio, Position

    if isinstance(trade, Portfolio):
        return trade
    if isinstance(trade, Position):
        return Portfolio([trade])
    if isinstance(trade, Mapping):
        return Portfolio.from_records([trade])
    if isinstance(trade, (list, tuple)) and trade and all(isinstance(t, Mapping) for t in trade):
        return Portfolio.from_records(trade)
    raise TypeError(
        "incremental_var: trade must be a position_id of the portfolio, a Position, a record dict, a list of "
        f"records or a Portfolio, got {type(trade).__name__}"
    )


def incremental_var(portfolio: object, market: object, trade: object, **options: object) -> IncrementalVaR:
    """VaR and ES of the book with and without ``trade``, on the same scenarios.

    ``trade``: a ``position_id`` already in ``portfolio`` (its incremental VaR: the book minus that position),
    or a candidate (a ``Position``, a record dict, a list of records or a ``Portfolio``) added to the book.
    ``options`` are ``rg.var``'s (``method`` required). Both runs draw scenarios for the union of the two
    books' underlyings, so they share every scenario. Tested: equals the difference of the two VaRs.
    """
    from riskgpu.risk.portfolio import Portfolio

    if not isinstance(portfolio, Portfolio):
        raise TypeError(f"incremental_var: portfolio must be a riskgpu.Portfolio, got {type(portfolio).__name__}")
    if isinstance(trade, str):
        if trade not in portfolio.ids:
            raise ValueError(f"incremental_var: position_id {trade!r} is not in the portfolio")
        with_book = portfolio
        rest = [i for i in portfolio.ids if i != trade]
        if not rest:
            raise ValueError(f"incremental_var: {trade!r} is the only position; the book without it is empty")
        without_book = portfolio.subset(rest)
    else:
        extra = _as_portfolio(trade)
        clash = sorted(set(extra.ids) & set(portfolio.ids))
        if clash:
            raise ValueError(f"incremental_var: the trade's position_id(s) {clash} are already in the portfolio")
        with_book = Portfolio([*portfolio.positions, *extra.positions], source=portfolio.source)
        without_book = portfolio
    names = with_book.underlyings
    defaults = {"confidence": 0.99, "es_confidence": None, "horizon_days": 1, "backend": "auto"}
    keys = ("lookback_days", "overlapping", "approximation", "n_scenarios", "returns", "dof", "covariance")
    keys += ("ewma_decay", "seed", "revaluation", "inner_paths", "tree_steps")
    unknown = sorted(set(options) - set(defaults) - set(keys) - {"method"})
    if unknown:
        raise ValueError(f"incremental_var: unknown option(s) {unknown}")
    if "method" not in options:
        raise ValueError("incremental_var: method= is required (as for rg.var)")
    run = {**defaults, **dict.fromkeys(keys), **options}
    a = run_var(with_book, market, names=names, **run)
    b = run_var(without_book, market, names=names, **run)
    return IncrementalVaR(
        incremental_var=a.var - b.var,
        incremental_es=a.es - b.es,
        var_with=a.var,
        var_without=b.var,
        es_with=a.es,
        es_without=b.es,
        with_=a,
        without=b,
    )
