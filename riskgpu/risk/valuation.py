"""Today's value of every position: Monte Carlo on the position's own stream, beside the closed form."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from riskgpu._checks import choice
from riskgpu.backends import resolve as _resolve_backend
from riskgpu.greeks import GREEKS
from riskgpu.risk import revaluation as _rv
from riskgpu.risk.book import Book, resolve_book
from riskgpu.risk.streams import position_stream

#: The long Greeks table's columns (one row per position, Greek and underlying, or pair for gamma).
GREEK_COLUMNS = ("position_id", "greek", "underlying", "underlying_2", "value", "stderr", "method")


class PricingError(ValueError):
    """A position failed to price (``on_error="fail"``): the message names the position and the cause."""


@dataclass
class Valuation:
    """Per-position results of ``value_positions`` in Book order (positions that failed are left out).

    ``rows`` one dict per priced position (the ``price_portfolio`` columns and, per requested Greek ``g``,
    ``g`` and ``g_stderr``: per unit, None for a Greek that is per underlying on a multi-asset position);
    ``greeks`` the long rows (``GREEK_COLUMNS``); ``failed`` ``{position_id: reason}`` with ``on_error="skip"``.
    """

    rows: list[dict] = field(default_factory=list)
    greeks: list[dict] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _linear_greeks(product: object, model: object, which: Sequence[str]) -> dict[str, float]:
    """Exact Greeks of a spot (delta 1) or forward (``S e^{-q tau} - K e^{-r tau}``); theta is ``-dV/dtau``
    as in ``rg.greeks``."""
    if type(product).__name__ == "Spot":
        exact = {"delta": 1.0, "gamma": 0.0, "vega": 0.0, "rho": 0.0, "theta": 0.0}
    else:
        tau, s, q, r, k = product.maturity, float(model.spot), float(model.div), float(model.rate), product.strike
        fs, fk = s * math.exp(-q * tau), k * math.exp(-r * tau)
        exact = {"delta": math.exp(-q * tau), "gamma": 0.0, "vega": 0.0, "rho": tau * fk, "theta": q * fs - r * fk}
    return {g: exact[g] for g in which}


def _greek_rows(pid: str, names: tuple[str, ...], g: str, value: object, stderr: object, method: str) -> list[dict]:
    row = {"position_id": pid, "greek": g, "method": method}
    if g in ("rho", "theta"):  # one number per position (a pathwise rho of a basket comes as a 1-list)
        value, stderr = (x[0] if isinstance(x, list) else x for x in (value, stderr))
        return [{**row, "underlying": "|".join(names), "underlying_2": None, "value": value, "stderr": stderr}]
    if len(names) == 1:
        first = value[0] if isinstance(value, list) else value
        err = stderr[0] if isinstance(stderr, list) else stderr
        if g == "gamma" and isinstance(first, list):
            first, err = first[0], err[0]
        two = names[0] if g == "gamma" else None
        return [{**row, "underlying": names[0], "underlying_2": two, "value": first, "stderr": err}]
    if g == "gamma":
        return [
            {**row, "underlying": a, "underlying_2": b, "value": value[i][j], "stderr": stderr[i][j]}
            for i, a in enumerate(names)
            for j, b in enumerate(names)
            if j >= i
        ]
    return [
        {**row, "underlying": a, "underlying_2": None, "value": value[i], "stderr": stderr[i]}
        for i, a in enumerate(names)
    ]


def variance_reduction(product: object, model: object, *, antithetic: bool, control_variate: bool) -> tuple:
    """``(antithetic, control_variate)`` as applied to ``product``: American (Longstaff-Schwartz) positions take
    neither, and a control variate only where ``riskgpu.control`` has one (not with continuous monitoring,
    geometric or negative-weight baskets). The positions table records what each position got."""
    from riskgpu.control import control_for

    if getattr(product, "lsm", False):
        return False, False
    if control_variate:
        try:
            control_for(product, model)
        except ValueError:
            control_variate = False
    return antithetic, control_variate


def value_positions(
    book: Book,
    market: object,
    *,
    n_paths: int,
    seed: int,
    backend: str = "auto",
    dtype: str = "float64",
    antithetic: bool = False,
    control_variate: bool = False,
    greeks: Sequence[str] = (),
    tree_steps: int = 200,
    on_error: str = "fail",
    on_position: Callable[[int], None] | None = None,
) -> Valuation:
    """Price (and, with ``greeks``, the Greeks of) every position of ``book`` on its own stream.

    Monte Carlo positions use ``rg.greeks`` (which prices on the same paths as ``rg.price``: the same value
    and stderr) or, with ``control_variate`` or no Greeks, ``rg.price``; spots and forwards are exact.
    ``on_error="skip"`` records a position whose pricing raises in ``Valuation.failed`` and goes on;
    ``"fail"`` raises ``PricingError`` naming it;
    ``on_position(p)`` is called after each. Tested through ``price_portfolio`` against ``rg.price``/``rg.greeks``.
    """
    from riskgpu.api import price
    from riskgpu.greeks import greeks as mc_greeks

    on_error = choice("price_portfolio", "on_error", on_error, ("fail", "skip"))
    which = tuple(choice("price_portfolio", "greeks", g, GREEKS) for g in greeks)
    name = _resolve_backend(backend)
    grid = _rv.encode_book(book, tree_steps)
    closed = _rv.full(book, grid, book.spots[None, :], elapsed=0.0, backend=name)[0]
    out = Valuation()
    run = {"n_paths": n_paths, "seed": seed, "backend": name, "dtype": dtype, "antithetic": antithetic}
    for p, product in enumerate(book.products):
        pid, names, q = book.ids[p], book.underlyings(p), float(book.quantities[p])
        try:
            model = market.model(names)
            row = {
                "position_id": pid,
                "book": book.books[p],
                "instrument": book.instruments[p],
                "underlying": "|".join(names),
                "quantity": q,
            }
            if type(product).__name__ in ("Spot", "Forward"):
                value, err, method, reduction = float(closed[p]), 0.0, "closed_form", "none"
                g_values = _linear_greeks(product, model, which)
                g_errs, g_methods = dict.fromkeys(which, 0.0), dict.fromkeys(which, "exact")
            else:
                stream = position_stream(pid)
                method = "lsm" if getattr(product, "lsm", False) else "monte_carlo"
                anti, cv = variance_reduction(product, model, antithetic=antithetic, control_variate=control_variate)
                mine = {**run, "antithetic": anti}
                reduction = "+".join(n for n, on in (("antithetic", anti), ("control_variate", cv)) if on) or "none"
                g_values, g_errs, g_methods = {}, {}, {}
                if which:
                    gr = mc_greeks(product, model, which=which, stream=stream, **mine)
                    g_values, g_errs, g_methods = gr.values, gr.stderrs, gr.methods
                    res = gr.price
                if cv or not which:
                    res = price(product, model, stream=stream, control_variate=cv, **mine)
                value, err = float(res.value), float(res.stderr)
            row.update(
                price=value,
                stderr=err,
                closed_form=float(closed[p]),
                value=q * value,
                value_stderr=abs(q) * err,
                method=method,
                variance_reduction=reduction,
            )
            longs = []
            for g in which:
                scalar = len(names) == 1 or g in ("rho", "theta")
                longs += _greek_rows(pid, names, g, g_values[g], g_errs[g], g_methods[g])
                row[g] = longs[-1]["value"] if scalar else None
                row[f"{g}_stderr"] = longs[-1]["stderr"] if scalar else None
        except (ValueError, ArithmeticError) as exc:  # this position's terms or numbers; anything else stops
            if on_error == "fail":
                raise PricingError(f"position {pid} ({book.instruments[p]}): {type(exc).__name__}: {exc}") from exc
            out.failed[pid] = f"{type(exc).__name__}: {exc}"
        else:
            out.rows.append(row)
            out.greeks += longs
        if on_position is not None:
            on_position(p)
    return out


def price_portfolio(
    portfolio: object,
    market: object,
    *,
    n_paths: int,
    seed: int,
    backend: str = "auto",
    dtype: str = "float64",
    tree_steps: int = 200,
    greeks: Sequence[str] = (),
    antithetic: bool = False,
    control_variate: bool = False,
    client: object | None = None,
    positions_per_task: int | None = None,
) -> object:
    """Price every position; a polars DataFrame, one row per position sorted by ``position_id``.

    Columns: ``position_id``, ``book``, ``instrument``, ``underlying`` ("|"-joined), ``quantity``, ``price``
    and ``stderr`` (per unit: ``rg.price`` with ``n_paths`` paths on ``stream=position_stream(id)``, so
    a position's price depends on nothing else in the book; spots and forwards are exact, stderr 0;
    Americans are Longstaff-Schwartz out of sample), ``closed_form`` (the revaluation grid's value: closed
    form or fast approximation), ``value`` and ``value_stderr`` (times the quantity), ``method``,
    ``variance_reduction`` (what ``antithetic``/``control_variate`` each position got, see
    ``variance_reduction()``); then per Greek ``g`` in ``greeks`` (``rg.greeks`` on the same stream; exact
    for spots and forwards) ``g`` and ``g_stderr`` per unit (null for a per-underlying Greek of a basket:
    see ``greeks_frame``).
    ``client``: a ``dask.distributed.Client``; ``positions_per_task`` positions per task (default about four
    tasks per worker), each American alone (``riskgpu.distributed.value_positions``): the same frame.
    Tested against ``rg.price`` and ``rg.greeks`` with the position's stream, and on a local cluster
    against the in-process frame.
    """
    book = resolve_book(portfolio, market)
    options = {
        "n_paths": n_paths,
        "seed": seed,
        "backend": backend,
        "dtype": dtype,
        "antithetic": antithetic,
        "control_variate": control_variate,
        "greeks": greeks,
        "tree_steps": tree_steps,
    }
    if client is None:
        if positions_per_task is not None:
            raise ValueError(
                f"price_portfolio.positions_per_task={positions_per_task!r} applies only with a Dask client"
            )
        val = value_positions(book, market, **options)
    else:
        from riskgpu import distributed

        distributed.check_per_task("price_portfolio.positions_per_task", positions_per_task)
        options["backend"] = distributed.resolve_backend(client, backend)
        val = distributed.value_positions(client, book, market, positions_per_task=positions_per_task, **options)
    return positions_frame(val.rows, greeks=greeks)


def positions_frame(rows: list[dict], *, greeks: Sequence[str] = ()) -> object:
    """The positions table (``price_portfolio``'s columns) from ``Valuation.rows``."""
    import polars as pl

    schema = {
        "position_id": pl.String,
        "book": pl.String,
        "instrument": pl.String,
        "underlying": pl.String,
        "quantity": pl.Float64,
        "price": pl.Float64,
        "stderr": pl.Float64,
        "closed_form": pl.Float64,
        "value": pl.Float64,
        "value_stderr": pl.Float64,
        "method": pl.String,
        "variance_reduction": pl.String,
    }
    for g in greeks:
        schema[g] = schema[f"{g}_stderr"] = pl.Float64
    return pl.DataFrame(rows, schema=schema)


def greeks_frame(rows: list[dict]) -> object:
    """The long Greeks table (``GREEK_COLUMNS``) from ``Valuation.greeks``: per unit, one row per position,
    Greek and underlying (gamma: per pair, the upper triangle; rho and theta: one row per position)."""
    import polars as pl

    schema = {c: pl.String for c in GREEK_COLUMNS} | {"value": pl.Float64, "stderr": pl.Float64}
    return pl.DataFrame(rows, schema=schema)
