"""Portfolio VaR and Expected Shortfall: ``rg.var(portfolio, market, *, method, ...)``.

Conventions (DESIGN.md section 2): VaR and ES are positive loss numbers; ``horizon_days`` are trading days
(252 a year); scenario models have no drift; options reprice at ``T - h`` (time passes); empirical VaR at
confidence ``a`` over ``N`` scenarios is the ``ceil(a N)``-th smallest loss and ES the mean of the losses
``>= VaR``. Positions are reported sorted by ``position_id`` (the row order of the portfolio never matters).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from riskgpu._checks import choice, positive_int
from riskgpu.io.tables import cell_date
from riskgpu.risk import contributions as _ct
from riskgpu.risk import revaluation as _rv
from riskgpu.risk import scenarios as _sc
from riskgpu.risk.book import Book, resolve_book
from riskgpu.risk.parametric import APPROXIMATIONS, QUADRATIC_DRAWS, dollar_sensitivities, parametric_var
from riskgpu.risk.stats import book_totals, check_confidence, empirical_var_es, es_interval, var_interval

METHODS = ("historical", "parametric", "monte_carlo")
REVALUATIONS = ("full", "nested", "greeks")
#: Options each method takes besides the common ones; any other given option is an error.
_OPTIONS = {
    "historical": {"lookback_days", "overlapping", "revaluation", "inner_paths", "tree_steps", "seed"},
    "parametric": {"approximation", "covariance", "ewma_decay", "lookback_days", "tree_steps"},
    "monte_carlo": {
        "n_scenarios",
        "returns",
        "dof",
        "covariance",
        "ewma_decay",
        "lookback_days",
        "revaluation",
        "inner_paths",
        "tree_steps",
        "seed",
    },
}


@dataclass(frozen=True)
class VaRResult:
    """A VaR/ES figure with what it came from.

    ``pnl`` ``(n_scen,)`` is the book's scenario P&L (the exactly rounded sum of ``pnl_by_position``
    ``(n_scen, n_pos)``, columns in ``position_ids`` order); both are ``None`` for parametric VaR.
    ``var_ci`` / ``es_ci``: 95% intervals of Monte Carlo VaR/ES (order statistics; asymptotic normal for
    ES). ``details`` holds the method's own figures (covariance used, cumulants, nested bias estimate ...).
    ``component_var`` / ``component_es`` ``(n_pos,)`` sum to ``var`` / ``es``; ``marginal_var`` is dVaR/dq
    per unit of each position (``riskgpu.risk.contributions``); ``contributions(by=...)`` groups them.
    ``stressed``: the same run over the stressed window (``stressed=(start, end)``), beside this one.
    """

    method: str
    confidence: float
    es_confidence: float
    horizon_days: int
    var: float
    es: float
    position_ids: tuple[str, ...]
    base_values: np.ndarray
    pnl: np.ndarray | None = None
    pnl_by_position: np.ndarray | None = None
    var_ci: tuple[float, float] | None = None
    es_ci: tuple[float, float] | None = None
    revaluation: str | None = None
    backend: str | None = None
    elapsed_s: float = 0.0
    details: dict = field(default_factory=dict)
    quantities: np.ndarray | None = None
    books: tuple[str | None, ...] = ()
    underlyings: tuple[str, ...] = ()
    component_var: np.ndarray | None = None
    component_es: np.ndarray | None = None
    marginal_var: np.ndarray | None = None
    stressed: VaRResult | None = None

    @property
    def n_scenarios(self) -> int | None:
        """Scenarios behind the figure (``None`` for parametric VaR)."""
        return None if self.pnl is None else int(self.pnl.size)

    def var_at(self, confidence: float) -> float:
        """Empirical VaR of the stored scenario P&L at another ``confidence``."""
        return empirical_var_es(-self._scenario_pnl(), check_confidence("confidence", confidence))[0]

    def es_at(self, confidence: float) -> float:
        """Empirical ES of the stored scenario P&L at another ``confidence``."""
        return empirical_var_es(-self._scenario_pnl(), check_confidence("confidence", confidence))[1]

    def _scenario_pnl(self) -> np.ndarray:
        if self.pnl is None:
            raise ValueError("parametric VaR has no scenario P&L; run method='historical' or 'monte_carlo'")
        return self.pnl

    def contributions(self, by: str = "position") -> object:
        """Component VaR and ES (and, by position, marginal VaR and quantity) as a polars DataFrame, one row per
        ``"position"``, ``"underlying"`` (a basket's names joined by "|") or ``"book"``, sorted by it; the
        columns sum to ``var`` and ``es`` to float precision."""
        import polars as pl

        by = choice("contributions", "by", by, ("position", "underlying", "book"))
        if by == "position":
            return pl.DataFrame(
                {
                    "position_id": list(self.position_ids),
                    "book": list(self.books),
                    "underlying": list(self.underlyings),
                    "quantity": self.quantities,
                    "component_var": self.component_var,
                    "component_es": self.component_es,
                    "marginal_var": self.marginal_var,
                },
                schema_overrides={"book": pl.String},
            )
        keys = self.underlyings if by == "underlying" else tuple("(none)" if b is None else b for b in self.books)
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            groups.setdefault(key, []).append(i)
        names = sorted(groups)
        return pl.DataFrame(
            {
                by: names,
                "component_var": [math.fsum(self.component_var[groups[n]].tolist()) for n in names],
                "component_es": [math.fsum(self.component_es[groups[n]].tolist()) for n in names],
                "positions": [len(groups[n]) for n in names],
            }
        )

    def summary(self) -> dict:
        """The headline figures as a plain dict (JSON-ready)."""
        return {
            "method": self.method,
            "confidence": self.confidence,
            "es_confidence": self.es_confidence,
            "horizon_days": self.horizon_days,
            "var": self.var,
            "es": self.es,
            "var_ci": self.var_ci,
            "es_ci": self.es_ci,
            "n_scenarios": self.n_scenarios,
            "revaluation": self.revaluation,
            "backend": self.backend,
            "base_value": math.fsum(self.base_values.tolist()),
            "stressed": None if self.stressed is None else self.stressed.summary(),
        }

    def pnl_frame(self) -> object:
        """The scenario P&L by position as a polars DataFrame: ``scenario``, ``total`` and one column per id."""
        import polars as pl

        pnl = self._scenario_pnl()
        clash = {"scenario", "total"} & set(self.position_ids)
        if clash:
            raise ValueError(f"pnl_frame: position ids {sorted(clash)} clash with the frame's own columns")
        cols = {"scenario": np.arange(pnl.size), "total": pnl}
        cols.update({pid: self.pnl_by_position[:, i] for i, pid in enumerate(self.position_ids)})
        return pl.DataFrame(cols)


def _given(options: dict, method: str) -> None:
    bad = sorted(k for k, v in options.items() if v is not None and k not in _OPTIONS[method])
    if bad:
        raise ValueError(f"var: method={method!r} does not take {', '.join(f'{k}={options[k]!r}' for k in bad)}")


def iso_day(owner: str, value: object) -> np.datetime64:
    """A strict ``YYYY-MM-DD`` string or a ``datetime.date`` as ``datetime64[D]``; anything else ("2026-03",
    2025, "today") names ``owner`` and the value."""
    try:
        return np.datetime64(cell_date(value).isoformat(), "D")
    except ValueError:
        raise ValueError(f"{owner} must be a date YYYY-MM-DD, got {value!r}") from None


def _window(value: object) -> tuple[np.datetime64, np.datetime64] | None:
    """``stressed=(start, end)``: two ISO dates (strings or dates), start <= end."""
    if value is None:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"var.stressed must be (start, end) ISO dates, got {value!r}")
    a, b = iso_day("var.stressed start", value[0]), iso_day("var.stressed end", value[1])
    if a > b:
        raise ValueError(f"var.stressed start {value[0]!r} is after its end {value[1]!r}")
    return a, b


def _closes(market: object, names: tuple[str, ...], window: tuple | None) -> tuple[np.ndarray, np.ndarray]:
    """The market's closes of ``names`` (to its as-of date), cut to ``window`` when one is given."""
    dates, closes = market.closes(names)
    if window is None:
        return dates, closes
    keep = (dates >= window[0]) & (dates <= window[1])
    if keep.any() and (window[0] < dates[0] or window[1] > dates[-1]):
        warnings.warn(
            f"var.stressed=({window[0]}, {window[1]}) runs outside the history ({dates[0]} to {dates[-1]}): "
            f"only {dates[keep][0]} to {dates[keep][-1]} is used",
            stacklevel=4,
        )
    if keep.sum() < 2:
        raise ValueError(
            f"var.stressed=({window[0]}, {window[1]}): the history has {int(keep.sum())} dates in that window "
            f"(it runs {dates[0]} to {dates[-1]})"
        )
    return dates[keep], closes[keep]


def _cov(
    book: Book, market: object, source: str, lookback_days: int | None, ewma_decay: float | None, window: tuple | None
) -> np.ndarray:
    if ewma_decay is not None and source != "ewma":
        raise ValueError(f"var: ewma_decay={ewma_decay!r} applies only with covariance='ewma', not {source!r}")
    if lookback_days is not None and source == "market":
        raise ValueError(f"var: lookback_days={lookback_days!r} needs covariance='sample' or 'ewma' (or historical)")
    closes = None if source == "market" else _closes(market, book.names, window)[1]
    return _sc.covariance(
        source=source,
        vols=book.vols,
        corr=book.corr,
        closes=closes,
        lookback_days=lookback_days,
        ewma_decay=0.94 if ewma_decay is None else ewma_decay,
    )


def var(
    portfolio: object,
    market: object,
    *,
    method: str,
    confidence: float = 0.99,
    es_confidence: float | None = None,
    horizon_days: int = 1,
    backend: str = "auto",
    lookback_days: int | None = None,
    overlapping: bool | None = None,
    approximation: str | None = None,
    n_scenarios: int | None = None,
    returns: str | None = None,
    dof: float | None = None,
    covariance: str | None = None,
    ewma_decay: float | None = None,
    seed: int | None = None,
    revaluation: str | None = None,
    inner_paths: int | None = None,
    tree_steps: int | None = None,
    stressed: tuple[str, str] | None = None,
    client: object | None = None,
    positions_per_task: int | None = None,
    scenarios_per_task: int | None = None,
) -> VaRResult:
    """Value at Risk and Expected Shortfall of ``portfolio`` under ``market``.

    Parameters
    ----------
    method : ``"historical"`` (full revaluation under each ``horizon_days`` window of the market's history:
        ``lookback_days`` most recent daily returns, ``overlapping`` windows (default True)),
        ``"parametric"`` (``approximation="delta_normal"`` (default) or ``"delta_gamma"`` with
        Cornish-Fisher, from the grid's sensitivities), ``"monte_carlo"`` (``n_scenarios`` (default 10,000)
        correlated draws: ``returns="lognormal"`` (default), ``"normal"`` or ``"student_t"`` with ``dof > 2``;
        ``seed`` (default 0)).
    confidence, es_confidence : VaR confidence (default 0.99); ES confidence (default ``confidence``; e.g.
        0.975 beside 99% VaR).
    covariance : parametric and Monte Carlo: ``"market"`` (default: vols and correlation), ``"sample"`` or
        ``"ewma"`` (``ewma_decay``, default 0.94) daily log-return covariance from history, annualised.
    revaluation : scenario methods: ``"full"`` (default: closed forms, moment matching, CRR trees of
        ``tree_steps`` (default 200) steps), ``"nested"`` (inner Monte Carlo of ``inner_paths`` (default
        1,024; a multiple of 64) paths per position and scenario on the position's stream;
        ``details["nested_bias"]`` estimates the bias its noise adds to VaR), ``"greeks"`` (delta-gamma-vega).
    stressed : ``(start, end)`` ISO dates: the same run again over that window of history (historical: its
        return windows; parametric and Monte Carlo: the window's sample covariance, or EWMA with
        ``covariance="ewma"``), returned as ``VaRResult.stressed`` beside the current figures.
    backend : the grid's backend: ``"auto"``, ``"reference"``, ``"cpu"``, ``"gpu"``.
    client : a ``dask.distributed.Client``: the scenario revaluation (``"full"`` and ``"nested"``) runs as Dask
        tasks of ``positions_per_task`` positions x ``scenarios_per_task`` scenarios (defaults: full splits
        the scenarios, nested the positions, into about four tasks per worker) combined by index, so the
        result is bitwise that without a client (``riskgpu.distributed``). Today's values and the
        sensitivities (parametric, ``"greeks"``: a few dozen bumped markets) are one task each, so nothing is
        revalued in this process (the workers hold the backend: a CPU driver can drive GPU workers).

    Options that do not apply to ``method`` are errors. Returns a ``VaRResult`` with contributions. Tested
    against ``z sqrt(w'Cw h/252)`` (linear books), the exact lognormal quantile, an independent order
    statistic (historical) and the closed forms (nested, greeks) on European books.
    """
    window = _window(stressed)
    kwargs = {
        "method": method,
        "confidence": confidence,
        "es_confidence": es_confidence,
        "horizon_days": horizon_days,
        "backend": backend,
        "lookback_days": lookback_days,
        "overlapping": overlapping,
        "approximation": approximation,
        "n_scenarios": n_scenarios,
        "returns": returns,
        "dof": dof,
        "covariance": covariance,
        "ewma_decay": ewma_decay,
        "seed": seed,
        "revaluation": revaluation,
        "inner_paths": inner_paths,
        "tree_steps": tree_steps,
    }
    kwargs["execution"] = _execution(client, backend, positions_per_task, scenarios_per_task)
    result = run_var(portfolio, market, **kwargs)
    if window is None:
        return result
    if method != "historical" and covariance in (None, "market"):
        if covariance == "market":
            raise ValueError("var: stressed=... needs covariance from history ('sample' or 'ewma'), not 'market'")
        kwargs["covariance"] = "sample"
    kwargs["lookback_days"] = None  # the window is the data
    other = run_var(portfolio, market, window=window, **kwargs)
    other.details["stressed_window"] = (str(window[0]), str(window[1]))
    dates = market.closes(portfolio.underlyings)[0]
    used = dates[(dates >= window[0]) & (dates <= window[1])]
    other.details["stressed_span"] = (str(used[0]), str(used[-1]))
    return dataclasses.replace(result, stressed=other)


def _execution(client: object, backend: str, positions_per_task: object, scenarios_per_task: object) -> dict:
    """Where ``run_var`` revalues: ``{"client", "positions_per_task", "scenarios_per_task", "backend"}`` (the
    backend resolved on the cluster's workers with a client, else here)."""
    from riskgpu import distributed as _dist

    per = {
        "positions_per_task": _dist.check_per_task("var.positions_per_task", positions_per_task),
        "scenarios_per_task": _dist.check_per_task("var.scenarios_per_task", scenarios_per_task),
    }
    if client is None:
        given = {k: v for k, v in per.items() if v is not None}
        if given:
            k, v = next(iter(given.items()))
            raise ValueError(f"var.{k}={v!r} applies only with a Dask client")
    return {"client": client, "backend": _dist.resolve_backend(client, backend), **per}


def _sensitivities(book: Book, grid: object, h: float, backend: str, tree_steps: int, client: object) -> dict:
    """``revaluation.sensitivities`` here, or with a client as one task on a worker (where the backend is)."""
    if client is None:
        return _rv.sensitivities(book, grid, elapsed=h, backend=backend)
    from riskgpu.distributed import run_tasks, sensitivities_task

    args = [(book, tree_steps, h, backend)]
    return run_tasks(client, "sensitivities", sensitivities_task, args, describe=lambda _: "sensitivities")[0]


def run_var(
    portfolio: object,
    market: object,
    *,
    method: str,
    confidence: float,
    es_confidence: float | None,
    horizon_days: int,
    backend: str,
    window: tuple | None = None,
    names: tuple[str, ...] | None = None,
    execution: dict | None = None,
    **options: object,
) -> VaRResult:
    """``var`` on the market's whole history (or the ``window`` of it), with scenarios drawn for ``names``
    (default: the portfolio's underlyings; ``incremental_var`` passes the union of two books'); ``execution``
    from ``_execution`` (default: in this process on ``backend``)."""
    t0 = time.perf_counter()
    method = choice("var", "method", method, METHODS)
    _given(options, method)
    lookback_days, overlapping, approximation = (options[k] for k in ("lookback_days", "overlapping", "approximation"))
    n_scenarios, returns, dof, covariance = (options[k] for k in ("n_scenarios", "returns", "dof", "covariance"))
    ewma_decay, seed, revaluation = options["ewma_decay"], options["seed"], options["revaluation"]
    inner_paths, tree_steps = options["inner_paths"], options["tree_steps"]
    confidence = check_confidence("var.confidence", confidence)
    es_conf = confidence if es_confidence is None else check_confidence("var.es_confidence", es_confidence)
    horizon_days = _sc.check_horizon(horizon_days)
    if lookback_days is not None:
        lookback_days = positive_int("var", "lookback_days", lookback_days)
    execution = _execution(None, backend, None, None) if execution is None else execution
    name = execution["backend"]
    tree = 200 if tree_steps is None else positive_int("var", "tree_steps", tree_steps)
    book = resolve_book(portfolio, market, names=names)
    grid = _rv.encode_book(book, tree)
    h = _sc.horizon_years(horizon_days)
    common = {
        "method": method,
        "confidence": confidence,
        "es_confidence": es_conf,
        "horizon_days": horizon_days,
        "position_ids": book.ids,
        "quantities": book.quantities,
        "books": book.books,
        "underlyings": tuple("|".join(book.underlyings(p)) for p in range(book.n_positions)),
        "backend": name,
    }

    if method == "parametric":
        approximation = choice("var", "approximation", approximation or "delta_normal", APPROXIMATIONS)
        source = covariance or "market"
        cov = _cov(book, market, source, lookback_days, ewma_decay, window)
        sens = _sensitivities(book, grid, h, name, tree, execution["client"])
        theta, w, a = dollar_sensitivities(book, sens)
        c = cov * h
        out = parametric_var(theta, w, a, c, approximation=approximation, confidence=confidence, es_confidence=es_conf)
        w_pos = sens["delta"] * book.spots
        a_pos = sens["gamma"] * np.outer(book.spots, book.spots)
        q = book.quantities
        if approximation == "delta_normal":
            comp = _ct.delta_normal(w_pos, c, q, confidence, es_conf)
        elif out["quantile"] == "cornish_fisher":
            comp = _ct.delta_gamma(w_pos, a_pos, c, q, confidence, es_conf)
        else:
            warnings.warn(
                "var: the delta-gamma P&L is too skewed for Cornish-Fisher (not increasing over the tail); "
                f"VaR and ES are the quantile and tail mean of {QUADRATIC_DRAWS} draws of the quadratic form "
                "(details['quantile'] == 'simulated')",
                stacklevel=3,
            )
            comp = _ct.delta_gamma_simulated(w_pos, a_pos, q, out["losses"], out["basis"], confidence, es_conf)
        return VaRResult(
            **common,
            var=out["var"],
            es=out["es"],
            base_values=book.quantities * sens["value"],
            elapsed_s=time.perf_counter() - t0,
            details={
                "approximation": approximation,
                "covariance": source,
                "cumulants": out["cumulants"],
                "quantile": out["quantile"],
                "dollar_delta": dict(zip(book.names, w.tolist(), strict=True)),
                "theta": theta,
            },
            **comp,
        )

    revaluation = choice("var", "revaluation", revaluation or "full", REVALUATIONS)
    if inner_paths is not None and revaluation != "nested":
        raise ValueError(f"var: inner_paths={inner_paths!r} applies only with revaluation='nested'")
    if seed is not None and method == "historical" and revaluation != "nested":
        raise ValueError(f"var: seed={seed!r} has no use in a historical run without revaluation='nested'")
    seed = 0 if seed is None else seed
    details: dict = {}
    if method == "historical":
        if overlapping is not None and not isinstance(overlapping, bool):
            raise ValueError(f"var.overlapping must be True or False, got {overlapping!r}")
        dates, closes = _closes(market, book.names, window)
        r = _sc.log_returns(
            closes, horizon_days=horizon_days, overlapping=overlapping is not False, lookback_days=lookback_days
        )
        moves = np.exp(r)
        details.update({"windows": r.shape[0], "overlapping": overlapping is not False, "last_date": str(dates[-1])})
    else:
        source = covariance or "market"
        cov = _cov(book, market, source, lookback_days, ewma_decay, window)
        n = 10_000 if n_scenarios is None else positive_int("var", "n_scenarios", n_scenarios, min_value=2)
        rets = returns or "lognormal"
        moves = _sc.monte_carlo_moves(cov, n_scenarios=n, horizon_days=horizon_days, returns=rets, dof=dof, seed=seed)
        details.update({"covariance": source, "returns": rets, "dof": dof, "seed": seed})
    spots = book.spots * moves
    client = execution["client"]
    split = {k: execution[k] for k in ("positions_per_task", "scenarios_per_task")}
    if revaluation == "full":
        if client is None:
            base = _rv.full(book, grid, book.spots[None, :], elapsed=0.0, backend=name)[0]
            unit = _rv.full(book, grid, spots, elapsed=h, backend=name) - base
        else:  # every revaluation on the workers (they hold the backend's devices)
            from riskgpu.distributed import revalue

            base = revalue(client, book, book.spots[None, :], elapsed=0.0, backend=name, tree_steps=tree)[0]
            unit = revalue(client, book, spots, elapsed=h, backend=name, tree_steps=tree, **split) - base
    elif revaluation == "greeks":
        sens = _sensitivities(book, grid, h, name, tree, client)
        base = sens["value"]
        unit = _rv.greeks_pnl(book, sens, spots)
    else:
        inner = _rv.check_inner(1024 if inner_paths is None else inner_paths)
        if client is None:
            values, halves, base = _rv.nested(book, grid, spots, elapsed=h, inner_paths=inner, seed=seed, backend=name)
        else:
            from riskgpu.distributed import nested

            values, halves, base = nested(
                client, book, spots, elapsed=h, inner_paths=inner, seed=seed, backend=name, tree_steps=tree, **split
            )
        unit = values - base
        half_total = book_totals(halves * book.quantities)
        v_full = empirical_var_es(-book_totals(unit * book.quantities), confidence)[0]
        v_half = empirical_var_es(-half_total, confidence)[0]
        details.update({"inner_paths": inner, "var_half_paths": v_half, "nested_bias": v_half - v_full})
    by_position = unit * book.quantities
    pnl = book_totals(by_position)
    losses = -pnl
    value_at_risk = empirical_var_es(losses, confidence)[0]
    es = empirical_var_es(losses, es_conf)[1]
    ci = {}
    if method == "monte_carlo":
        ci = {"var_ci": var_interval(losses, confidence), "es_ci": es_interval(losses, es_conf)}
    comp = _ct.simulation(unit, book.quantities, pnl, confidence, es_conf)
    details["var_scenario"] = comp.pop("var_scenario")
    return VaRResult(
        **common,
        var=value_at_risk,
        es=es,
        base_values=book.quantities * base,
        pnl=pnl,
        pnl_by_position=by_position,
        revaluation=revaluation,
        elapsed_s=time.perf_counter() - t0,
        details=details,
        **ci,
        **comp,
    )
