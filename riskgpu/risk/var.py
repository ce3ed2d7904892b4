"""Portfolio VaR and Expected Shortfall: ``rg.var(portfolio, market, *, method, ...)``.

Conventions (DESIGN.md section 2): VaR and ES are positive loss numbers; ``horizon_days`` are trading days
(252 a year); scenario models have no drift; options reprice at ``T - h`` (time passes); empirical VaR at
confidence ``a`` over ``N`` scenarios is the ``ceil(a N)``-th smallest loss and ES the mean of the losses
``>= VaR``. Positions are reported sorted by ``position_id`` (the row order of the portfolio never matters).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from riskgpu._checks import choice, positive_int
from riskgpu.backends import resolve as _resolve_backend
from riskgpu.risk import revaluation as _rv
from riskgpu.risk import scenarios as _sc
from riskgpu.risk.book import Book, resolve_book
from riskgpu.risk.parametric import APPROXIMATIONS, QUADRATIC_DRAWS, dollar_sensitivities, parametric_var
from riskgpu.risk.stats import check_confidence, empirical_var_es, es_interval, var_interval

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


def _book_total(per_position: np.ndarray) -> np.ndarray:
    """Exactly rounded row sums (independent of the column order)."""
    return np.array([math.fsum(row) for row in per_position.tolist()], dtype=np.float64)


def _cov(book: Book, market: object, source: str, lookback_days: int | None, ewma_decay: float | None) -> np.ndarray:
    if ewma_decay is not None and source != "ewma":
        raise ValueError(f"var: ewma_decay={ewma_decay!r} applies only with covariance='ewma', not {source!r}")
    if lookback_days is not None and source == "market":
        raise ValueError(f"var: lookback_days={lookback_days!r} needs covariance='sample' or 'ewma' (or historical)")
    closes = None if source == "market" else market.closes(book.names)[1]
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
        1,024; a multiple of 64) paths per position and scenario on the position's stream; ``details["nested_bias"]``
        estimates the bias its noise adds to VaR), ``"greeks"`` (delta-gamma-vega from the grid).
    backend : the grid's backend: ``"auto"``, ``"reference"``, ``"cpu"``, ``"gpu"``.

    Options that do not apply to ``method`` are errors. Returns a ``VaRResult``. Tested against
    ``z sqrt(w'Cw h/252)`` (linear books), the exact lognormal quantile, an independent order statistic
    (historical) and the closed forms (nested, greeks) on European books.
    """
    t0 = time.perf_counter()
    method = choice("var", "method", method, METHODS)
    options = {
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
    _given(options, method)
    confidence = check_confidence("var.confidence", confidence)
    es_conf = confidence if es_confidence is None else check_confidence("var.es_confidence", es_confidence)
    horizon_days = _sc.check_horizon(horizon_days)
    if lookback_days is not None:
        lookback_days = positive_int("var", "lookback_days", lookback_days)
    name = _resolve_backend(backend)
    tree = 200 if tree_steps is None else positive_int("var", "tree_steps", tree_steps)
    book = resolve_book(portfolio, market)
    grid = _rv.encode_book(book, tree)
    h = _sc.horizon_years(horizon_days)
    common = {"method": method, "confidence": confidence, "es_confidence": es_conf, "horizon_days": horizon_days}

    if method == "parametric":
        approximation = choice("var", "approximation", approximation or "delta_normal", APPROXIMATIONS)
        source = covariance or "market"
        cov = _cov(book, market, source, lookback_days, ewma_decay)
        sens = _rv.sensitivities(book, grid, elapsed=h, backend=name)
        theta, w, a = dollar_sensitivities(book, sens)
        out = parametric_var(
            theta, w, a, cov * h, approximation=approximation, confidence=confidence, es_confidence=es_conf
        )
        if out["quantile"] == "simulated":
            warnings.warn(
                "var: the delta-gamma P&L is too skewed for Cornish-Fisher (not increasing over the tail); "
                f"VaR and ES are the quantile and tail mean of {QUADRATIC_DRAWS} draws of the quadratic form "
                "(details['quantile'] == 'simulated')",
                stacklevel=2,
            )
        return VaRResult(
            **common,
            var=out["var"],
            es=out["es"],
            position_ids=book.ids,
            base_values=book.quantities * sens["value"],
            backend=name,
            elapsed_s=time.perf_counter() - t0,
            details={
                "approximation": approximation,
                "covariance": source,
                "cumulants": out["cumulants"],
                "quantile": out["quantile"],
                "dollar_delta": dict(zip(book.names, w.tolist(), strict=True)),
                "theta": theta,
            },
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
        dates, closes = market.closes(book.names)
        r = _sc.log_returns(
            closes, horizon_days=horizon_days, overlapping=overlapping is not False, lookback_days=lookback_days
        )
        moves = np.exp(r)
        details.update({"windows": r.shape[0], "overlapping": overlapping is not False, "last_date": str(dates[-1])})
    else:
        source = covariance or "market"
        cov = _cov(book, market, source, lookback_days, ewma_decay)
        n = 10_000 if n_scenarios is None else positive_int("var", "n_scenarios", n_scenarios, min_value=2)
        rets = returns or "lognormal"
        moves = _sc.monte_carlo_moves(cov, n_scenarios=n, horizon_days=horizon_days, returns=rets, dof=dof, seed=seed)
        details.update({"covariance": source, "returns": rets, "dof": dof, "seed": seed})
    spots = book.spots * moves
    if revaluation == "full":
        base = _rv.full(book, grid, book.spots[None, :], elapsed=0.0, backend=name)[0]
        unit = _rv.full(book, grid, spots, elapsed=h, backend=name) - base
    elif revaluation == "greeks":
        sens = _rv.sensitivities(book, grid, elapsed=h, backend=name)
        base = sens["value"]
        unit = _rv.greeks_pnl(book, sens, spots)
    else:
        inner = _rv.check_inner(1024 if inner_paths is None else inner_paths)
        values, halves, base = _rv.nested(
            book, grid, spots, elapsed=h, inner_paths=inner, seed=seed, backend=name
        )  # fmt: skip
        unit = values - base
        half_total = _book_total(halves * book.quantities)
        v_full = empirical_var_es(-_book_total(unit * book.quantities), confidence)[0]
        v_half = empirical_var_es(-half_total, confidence)[0]
        details.update({"inner_paths": inner, "var_half_paths": v_half, "nested_bias": v_half - v_full})
    by_position = unit * book.quantities
    pnl = _book_total(by_position)
    losses = -pnl
    value_at_risk = empirical_var_es(losses, confidence)[0]
    es = empirical_var_es(losses, es_conf)[1]
    ci = {}
    if method == "monte_carlo":
        ci = {"var_ci": var_interval(losses, confidence), "es_ci": es_interval(losses, es_conf)}
    return VaRResult(
        **common,
        var=value_at_risk,
        es=es,
        position_ids=book.ids,
        base_values=book.quantities * base,
        pnl=pnl,
        pnl_by_position=by_position,
        revaluation=revaluation,
        backend=name,
        elapsed_s=time.perf_counter() - t0,
        details=details,
        **ci,
    )
