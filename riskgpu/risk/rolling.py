"""Rolling VaR backtest: today's book revalued over the market's history, one-day VaR forecasts against the
realised hypothetical P&L, then ``rg.backtest`` on the series."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from riskgpu._checks import choice, positive_int
from riskgpu.distributed import resolve_backend
from riskgpu.risk import revaluation as _rv
from riskgpu.risk import scenarios as _sc
from riskgpu.risk.book import resolve_book
from riskgpu.risk.grid import advance
from riskgpu.risk.parametric import dollar_sensitivities, parametric_var
from riskgpu.risk.stats import book_totals, check_confidence, empirical_var_es
from riskgpu.risk.var import iso_day

METHODS = ("historical", "parametric", "monte_carlo")


@dataclass(frozen=True)
class RollingBacktest:
    """``dates`` ``(n,)`` of the P&L days, ``var`` ``(n,)`` the forecasts made at the close before each,
    ``pnl`` ``(n,)`` the realised hypothetical P&L, ``result`` the ``BacktestResult``."""

    method: str
    window_days: int
    confidence: float
    dates: np.ndarray
    var: np.ndarray
    pnl: np.ndarray
    result: object

    def frame(self) -> object:
        """The series as a polars DataFrame: ``date``, ``var``, ``pnl``, ``exception``."""
        import polars as pl

        return pl.DataFrame({"date": self.dates, "var": self.var, "pnl": self.pnl, "exception": -self.pnl > self.var})


def backtest_days(dates: np.ndarray, *, window_days: int, start: object, end: object) -> list[int]:
    """Indices into ``dates`` of the P&L days in ``[start, end]`` with ``window_days`` daily returns before the
    previous close; a ValueError naming the window when there is none (the runner checks a config with it)."""
    lo = iso_day("rolling_backtest.start", start) if start is not None else dates[0]
    hi = iso_day("rolling_backtest.end", end) if end is not None else dates[-1]
    if lo > hi:
        raise ValueError(f"rolling_backtest: start {start!r} is after end {end!r}")
    days = [t + 1 for t in range(window_days, len(dates) - 1) if lo <= dates[t + 1] <= hi]
    if not days:
        raise ValueError(
            f"rolling_backtest: no P&L day in [{lo}, {hi}] has {window_days} daily returns before it "
            f"(history {dates[0]} to {dates[-1]}, {len(dates)} dates)"
        )
    return days


def rolling_backtest(
    portfolio: object,
    market: object,
    *,
    method: str = "historical",
    window_days: int = 250,
    start: str | None = None,
    end: str | None = None,
    confidence: float = 0.99,
    backend: str = "auto",
    tree_steps: int = 200,
    n_scenarios: int | None = None,
    seed: int | None = None,
    on_day: Callable[[], None] | None = None,
    client: object | None = None,
    days_per_task: int | None = None,
) -> RollingBacktest:
    """One-day VaR forecasts of today's book over history, backtested.

    For every P&L day ``d`` (history dates in ``[start, end]`` with ``window_days`` daily returns before the
    previous close ``t``): the book (today's products and maturities: a hypothetical-P&L backtest) is put at
    the closes of ``t`` (seasoned state made consistent with them: lookback extremes widened to the spot, a
    barrier at or beyond it hit); its VaR forecast comes from the ``window_days`` daily log returns ending at ``t``
    (``"historical"``: full revaluation under them; ``"parametric"``: delta-normal with their sample
    covariance; ``"monte_carlo"``: ``n_scenarios`` (default 2,000) lognormal draws with that covariance,
    ``seed`` (default 0); both refused with the other methods); the
    realised P&L is the book revalued at the closes of ``d`` one trading day later minus its value at ``t``.
    Then ``rg.backtest(var, pnl, confidence=confidence)``. ``on_day()`` is called after each day (progress).
    ``client``: a ``dask.distributed.Client``; the days run as Dask tasks of ``days_per_task`` days (default
    about four tasks per worker), combined in day order: the same numbers as without one.
    Tested by counting the exceptions independently, and on a local cluster against the in-process run.
    """
    from riskgpu.risk.backtest import backtest

    method = choice("rolling_backtest", "method", method, METHODS)
    window_days = positive_int("rolling_backtest", "window_days", window_days, min_value=2)
    confidence = check_confidence("rolling_backtest.confidence", confidence)
    tree_steps = positive_int("rolling_backtest", "tree_steps", tree_steps)
    if method != "monte_carlo" and (n_scenarios is not None or seed is not None):
        raise ValueError(f"rolling_backtest: n_scenarios and seed apply only to method='monte_carlo', not {method!r}")
    n_scenarios = (
        2_000 if n_scenarios is None else positive_int("rolling_backtest", "n_scenarios", n_scenarios, min_value=2)
    )
    seed = 0 if seed is None else seed
    book = resolve_book(portfolio, market)
    name = resolve_backend(client, backend)
    dates, closes = market.closes(book.names)
    days = backtest_days(dates, window_days=window_days, start=start, end=end)
    arguments = (book, closes, method, window_days, confidence, tree_steps, n_scenarios, seed, name)
    if client is not None:
        from riskgpu.distributed import backtest_days as _distributed_days

        pairs = _distributed_days(
            client, _days, days, dates, days_per_task=days_per_task, on_day=on_day, arguments=arguments
        )
    else:
        if days_per_task is not None:
            raise ValueError(f"rolling_backtest.days_per_task={days_per_task!r} applies only with a Dask client")
        pairs = []
        for d in days:
            pairs += _days([d], *arguments)
            if on_day is not None:
                on_day()
    forecasts = [f for f, _ in pairs]
    realised = [r for _, r in pairs]
    var = np.array(forecasts)
    pnl = np.array(realised)
    if np.any(var < 0):
        i = int(np.argmax(var < 0))
        raise ValueError(
            f"rolling_backtest: the {confidence} VaR forecast for {dates[days[i]]} is negative ({var[i]:.6g}: the "
            "book gains even in that quantile's scenario); a backtest needs VaR >= 0 (raise the confidence)"
        )
    return RollingBacktest(
        method=method,
        window_days=window_days,
        confidence=confidence,
        dates=dates[days],
        var=var,
        pnl=pnl,
        result=backtest(var, pnl, confidence=confidence),
    )


def _days(
    days: list[int],
    book: object,
    closes: np.ndarray,
    method: str,
    window_days: int,
    confidence: float,
    tree_steps: int,
    n_scenarios: int,
    seed: int,
    name: str,
) -> list[tuple[float, float]]:
    """``(VaR forecast, realised P&L)`` of each P&L day index in ``days`` (one task of a distributed backtest)."""
    h = _sc.horizon_years(1)
    q = book.quantities
    out = []
    for d in days:
        t = d - 1
        spots = closes[t].astype(np.float64)
        # seasoned state must hold at the historical spot: lookback extremes widen to it, barriers beyond it hit
        products = tuple(
            advance(x, spot_today=spots[a[0]], spot=spots[a[0]], elapsed=0.0) if len(a) == 1 else x
            for x, a in zip(book.products, book.assets, strict=True)
        )
        today = dataclasses.replace(book, spots=spots, products=products)
        grid = _rv.encode_book(today, tree_steps)
        base = _rv.full(today, grid, today.spots[None, :], elapsed=0.0, backend=name)[0]
        moved = _rv.full(today, grid, closes[d][None, :], elapsed=h, backend=name)[0]
        realised = book_totals((moved - base)[None, :] * q)[0]
        r = np.diff(np.log(closes[t - window_days : t + 1]), axis=0)
        if method == "historical":
            unit = _rv.full(today, grid, today.spots * np.exp(r), elapsed=h, backend=name) - base
            out.append((empirical_var_es(-book_totals(unit * q), confidence)[0], realised))
            continue
        cov = np.atleast_2d(np.cov(r, rowvar=False, ddof=1)) * _sc.DAYS_PER_YEAR
        if method == "parametric":
            sens = _rv.sensitivities(today, grid, elapsed=h, backend=name)
            theta, w, a = dollar_sensitivities(today, sens)
            res = parametric_var(
                theta, w, a, cov * h, approximation="delta_normal", confidence=confidence, es_confidence=confidence
            )
            out.append((res["var"], realised))
            continue
        moves = _sc.monte_carlo_moves(
            cov, n_scenarios=n_scenarios, horizon_days=1, returns="lognormal", dof=None, seed=seed
        )  # fmt: skip
        unit = _rv.full(today, grid, today.spots * moves, elapsed=h, backend=name) - base
        out.append((empirical_var_es(-book_totals(unit * q), confidence)[0], realised))
    return out
