"""Deterministic stress tests: ``rg.stress(portfolio, market, scenarios, *, backend, tree_steps)``.

A ``StressScenario`` moves today's market by named shocks: relative spot moves, absolute vol and rate
shifts and ``days`` calendar days passed (ACT/365, the convention of the portfolio's date maturities).
Every position is revalued in full on the scenario grid (``riskgpu.risk.grid.revalue``: closed forms,
moment matching, CRR trees) and its P&L is ``quantity * (value in the scenario - value today)``.
Positions are reported sorted by ``position_id``, so the row order of the portfolio never matters.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from riskgpu.backends import resolve as _resolve_backend
from riskgpu.risk import revaluation as _rv
from riskgpu.risk.book import resolve_book
from riskgpu.risk.stats import book_totals

__all__ = ["StressResult", "StressScenario", "stress"]

#: The key of a shock mapping that applies to every underlying without its own entry.
WILDCARD = "*"
#: Keys ``StressScenario.from_dict`` accepts.
FIELDS = ("name", "spot", "vol", "rate", "days")
#: Days a year of the time shift (ACT/365, as the portfolio's date maturities).
DAYS_PER_YEAR = 365.0


def _real(owner: str, field: str, value: object) -> float:
    """``value`` as a finite float, or a ValueError naming ``owner``, ``field`` and the value."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{owner}: {field} must be a real number, got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{owner}: {field} must be finite, got {value!r}")
    return x


def _shocks(owner: str, field: str, value: object, *, spot: bool) -> float | Mapping[str, float]:
    """A shock field checked: one float, or a read-only ``{underlying or "*": float}`` copy."""
    if not isinstance(value, Mapping):
        x = _real(owner, field, value)
        if spot and not x > -1.0:
            raise ValueError(f"{owner}: {field}={value!r} must be > -1 (a relative move: -0.2 = down 20%)")
        return x
    out = {}
    for key, v in value.items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"{owner}: {field} keys must be underlying names or {WILDCARD!r}, got {key!r}")
        x = _real(owner, f"{field}[{key!r}]", v)
        if spot and not x > -1.0:
            raise ValueError(f"{owner}: {field}[{key!r}]={v!r} must be > -1 (a relative move: -0.2 = down 20%)")
        out[key] = x
    return types.MappingProxyType(out)


@dataclass(frozen=True, kw_only=True)
class StressScenario:
    """A named move of today's market.

    Parameters
    ----------
    name : non-empty; unique within one ``stress`` call.
    spot : relative spot shocks, ``> -1``: one float for every underlying, or a mapping
        ``{"AAA": -0.2, "*": -0.1}`` keyed by underlying name, ``"*"`` applying to every underlying without
        its own entry (those in neither get 0). ``-0.2`` multiplies the spot by 0.8.
    vol : absolute vol shocks (``+0.05`` = vol plus 5 points), same forms as ``spot``; each shocked vol of
        the book's underlyings must be ``>= 0`` (checked by ``stress``, which knows the market).
    rate : absolute shift of the risk-free rate (``+0.01`` = 100 bp).
    days : calendar days passed, ``>= 0``: options reprice at ``T - days / 365`` (ACT/365, the convention
        of date maturities); expired ones are worth their intrinsic value.

    Errors (ValueError) name the scenario, the field and the value. Mapping shocks are stored as read-only
    copies. Names that the market lacks are reported by ``stress``.
    """

    name: str
    spot: Mapping[str, float] | float = 0.0
    vol: Mapping[str, float] | float = 0.0
    rate: float = 0.0
    days: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"StressScenario.name must be a non-empty string, got {self.name!r}")
        owner = f"StressScenario {self.name!r}"
        object.__setattr__(self, "spot", _shocks(owner, "spot", self.spot, spot=True))
        object.__setattr__(self, "vol", _shocks(owner, "vol", self.vol, spot=False))
        object.__setattr__(self, "rate", _real(owner, "rate", self.rate))
        days = self.days
        if isinstance(days, bool) or not isinstance(days, (int, np.integer)) or days < 0:
            raise ValueError(f"{owner}: days must be an integer >= 0 (calendar days), got {days!r}")
        object.__setattr__(self, "days", int(days))

    @classmethod
    def from_dict(cls, d: Mapping) -> StressScenario:
        """A scenario from a mapping with keys ``name`` (required), ``spot``, ``vol``, ``rate``, ``days``.

        Any other key is a ValueError naming it (a typo in a config is never silently ignored).
        """
        if not isinstance(d, Mapping):
            raise TypeError(f"StressScenario.from_dict takes a mapping, got {type(d).__name__}")
        unknown = [k for k in d if k not in FIELDS]
        if unknown:
            where = f" (scenario {d['name']!r})" if isinstance(d.get("name"), str) else ""
            raise ValueError(
                f"StressScenario.from_dict{where}: unknown key {unknown[0]!r}; the keys are {', '.join(FIELDS)}"
            )
        if "name" not in d:
            raise ValueError(f"StressScenario.from_dict: missing key 'name' in {dict(d)!r}")
        return cls(**dict(d))

    @property
    def elapsed(self) -> float:
        """Years passed: ``days / 365``."""
        return self.days / DAYS_PER_YEAR

    def shock_for(self, field: str, underlying: str) -> float:
        """The ``spot`` or ``vol`` shock of ``underlying``: its own entry, else ``"*"``, else 0."""
        value = getattr(self, field)
        if not isinstance(value, Mapping):
            return float(value)
        return float(value.get(underlying, value.get(WILDCARD, 0.0)))


@dataclass(frozen=True)
class StressResult:
    """Stress P&L by scenario and position.

    ``position_ids`` are sorted (the Book order), with ``books`` and ``underlyings`` (``"|"``-joined for
    baskets) beside them; ``base_values`` ``(n_pos,)`` is ``quantity * unit value today``;
    ``pnl_by_position`` ``(n_scen, n_pos)`` the scenario P&L of each position (rows in ``scenario_names``
    order); ``pnl`` ``(n_scen,)`` its exactly rounded row sums (``math.fsum``).
    """

    scenario_names: tuple[str, ...]
    position_ids: tuple[str, ...]
    base_values: np.ndarray
    pnl_by_position: np.ndarray
    pnl: np.ndarray
    books: tuple[str | None, ...] = ()
    underlyings: tuple[str, ...] = ()
    backend: str | None = None

    def frame(self) -> object:
        """Long polars DataFrame, one row per scenario and position (scenarios in order, then ids):
        ``scenario``, ``position_id``, ``book``, ``underlying``, ``pnl``."""
        import polars as pl

        n_scen, n_pos = self.pnl_by_position.shape
        books = self.books or (None,) * n_pos
        unds = self.underlyings or ("",) * n_pos
        return pl.DataFrame(
            {
                "scenario": [s for s in self.scenario_names for _ in range(n_pos)],
                "position_id": list(self.position_ids) * n_scen,
                "book": list(books) * n_scen,
                "underlying": list(unds) * n_scen,
                "pnl": self.pnl_by_position.reshape(-1),
            },
            schema_overrides={"book": pl.String},
        )

    def totals(self) -> object:
        """polars DataFrame of the book's P&L per scenario: ``scenario``, ``pnl``."""
        import polars as pl

        return pl.DataFrame({"scenario": list(self.scenario_names), "pnl": self.pnl})


def _check_scenarios(scenarios: object, market_names: Sequence[str]) -> tuple[StressScenario, ...]:
    if isinstance(scenarios, StressScenario) or not isinstance(scenarios, Sequence) or isinstance(scenarios, str):
        raise TypeError(f"stress: scenarios must be a sequence of StressScenario, got {type(scenarios).__name__}")
    scenarios = tuple(scenarios)
    if not scenarios:
        raise ValueError("stress: scenarios is empty; pass at least one StressScenario")
    known = set(market_names)
    seen: set[str] = set()
    for i, sc in enumerate(scenarios):
        if not isinstance(sc, StressScenario):
            raise TypeError(
                f"stress: scenarios[{i}] must be a StressScenario (StressScenario.from_dict builds one from a "
                f"mapping), got {type(sc).__name__}"
            )
        if sc.name in seen:
            raise ValueError(f"stress: duplicate scenario name {sc.name!r} (scenarios[{i}])")
        seen.add(sc.name)
        for field in ("spot", "vol"):
            value = getattr(sc, field)
            if isinstance(value, Mapping):
                for key in value:
                    if key != WILDCARD and key not in known:
                        raise ValueError(
                            f"stress: scenario {sc.name!r}: {field}[{key!r}] names an underlying the market lacks "
                            f"(the market has {', '.join(market_names)}; {WILDCARD!r} means every underlying)"
                        )
    return scenarios


def stress(
    portfolio: object,
    market: object,
    scenarios: Sequence[StressScenario],
    *,
    backend: str = "auto",
    tree_steps: int = 200,
) -> StressResult:
    """Full-revaluation P&L of ``portfolio`` under each stress scenario of ``market``.

    Parameters
    ----------
    portfolio : a ``riskgpu.Portfolio``.
    market : a ``riskgpu.Market`` (today's spots, vols, dividends, correlation, rate).
    scenarios : a non-empty sequence of ``StressScenario`` with distinct names. Shocks may name any of the
        market's underlyings (those the book does not hold are ignored) or ``"*"``; any other key is an error.
    backend : the grid's backend: ``"auto"``, ``"reference"``, ``"cpu"``, ``"gpu"``.
    tree_steps : CRR steps of Americans and Bermudans (``1..MAX_TREE`` of ``riskgpu.risk.grid``).

    Returns
    -------
    StressResult
        Scenario ``s`` values every position at spots ``S (1 + spot shock)``, vols ``vol + vol shock``,
        rate ``r + rate`` and ``days / 365`` years later (``riskgpu.risk.grid.revalue``; path-dependent
        products follow ``riskgpu.risk.grid.advance``); dividends and correlations are today's. Today's
        values are row 0 of the same grid call, so a scenario with no shock has exactly zero P&L.

    Raises
    ------
    ValueError
        Empty or duplicate scenarios, a shock key the market lacks, a shocked vol ``< 0`` (naming the
        scenario and underlying), a bad ``tree_steps`` or backend, a cell without a value (the grid's error).
    """
    from riskgpu.risk.grid import MAX_TREE, revalue

    if isinstance(tree_steps, bool) or not isinstance(tree_steps, (int, np.integer)) or not 1 <= tree_steps <= MAX_TREE:
        raise ValueError(f"stress: tree_steps must be an integer in [1, {MAX_TREE}], got {tree_steps!r}")
    name = _resolve_backend(backend)
    book = resolve_book(portfolio, market)
    scenarios = _check_scenarios(scenarios, tuple(market.names))
    n_scen, k = len(scenarios), len(book.names)
    spots = np.empty((n_scen + 1, k))
    vols = np.empty((n_scen + 1, k))
    rates = np.empty(n_scen + 1)
    elapsed = np.empty(n_scen + 1)
    spots[0], vols[0], rates[0], elapsed[0] = book.spots, book.vols, book.rate, 0.0
    for s, sc in enumerate(scenarios, start=1):
        for i, und in enumerate(book.names):
            spots[s, i] = book.spots[i] * (1.0 + sc.shock_for("spot", und))
            dv = sc.shock_for("vol", und)
            vols[s, i] = book.vols[i] + dv
            if not vols[s, i] >= 0.0:
                raise ValueError(
                    f"stress: scenario {sc.name!r}: the vol of {und!r} would be {vols[s, i]!r} "
                    f"(market {book.vols[i]!r} + shock {dv!r}); it must be >= 0"
                )
        rates[s] = book.rate + sc.rate
        elapsed[s] = sc.elapsed
    grid = _rv.encode_book(book, tree_steps)
    values = revalue(
        grid, spots=spots, vols=vols, rates=rates, divs=book.divs, corr=book.corr, elapsed=elapsed, backend=name
    )
    q = book.quantities
    by_pos = q[None, :] * (values[1:] - values[0][None, :])
    total = book_totals(by_pos)
    return StressResult(
        scenario_names=tuple(sc.name for sc in scenarios),
        position_ids=book.ids,
        base_values=q * values[0],
        pnl_by_position=by_pos,
        pnl=total,
        books=book.books,
        underlyings=tuple("|".join(book.underlyings(p)) for p in range(book.n_positions)),
        backend=name,
    )
