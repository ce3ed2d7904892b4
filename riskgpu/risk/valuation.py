"""Today's value of every position: Monte Carlo on the position's own stream, beside the closed form."""

from __future__ import annotations

import numpy as np

from riskgpu.backends import resolve as _resolve_backend
from riskgpu.risk import revaluation as _rv
from riskgpu.risk.book import resolve_book
from riskgpu.risk.streams import position_stream


def price_portfolio(
    portfolio: object,
    market: object,
    *,
    n_paths: int,
    seed: int,
    backend: str = "auto",
    dtype: str = "float64",
    tree_steps: int = 200,
) -> object:
    """Price every position; a polars DataFrame, one row per position sorted by ``position_id``.

    Columns: ``position_id``, ``book``, ``instrument``, ``underlying`` ("|"-joined), ``quantity``, ``price``
    and ``stderr`` (per unit: ``rg.price`` with ``n_paths`` paths on ``stream=position_stream(id)``, so
    a position's price depends on nothing else in the book; spots and forwards are exact, stderr 0;
    Americans are Longstaff-Schwartz out of sample), ``closed_form`` (the revaluation grid's value: closed
    form or fast approximation), ``value`` and ``value_stderr`` (times the quantity), ``method``.
    Tested against ``rg.price`` with the position's stream.
    """
    import polars as pl

    from riskgpu.api import price

    name = _resolve_backend(backend)
    book = resolve_book(portfolio, market)
    grid = _rv.encode_book(book, tree_steps)
    closed = _rv.full(book, grid, book.spots[None, :], elapsed=0.0, backend=name)[0]
    prices, errors, methods = [], [], []
    for p, product in enumerate(book.products):
        if type(product).__name__ in ("Spot", "Forward"):
            prices.append(float(closed[p]))
            errors.append(0.0)
            methods.append("closed_form")
            continue
        model = market.model(book.underlyings(p))
        r = price(
            product,
            model,
            n_paths=n_paths,
            seed=seed,
            backend=name,
            dtype=dtype,
            stream=position_stream(book.ids[p]),
        )
        prices.append(float(r.value))
        errors.append(float(r.stderr))
        methods.append("lsm" if getattr(product, "lsm", False) else "monte_carlo")
    q = book.quantities
    return pl.DataFrame(
        {
            "position_id": list(book.ids),
            "book": list(book.books),
            "instrument": list(book.instruments),
            "underlying": ["|".join(book.underlyings(p)) for p in range(book.n_positions)],
            "quantity": q,
            "price": np.array(prices),
            "stderr": np.array(errors),
            "closed_form": closed,
            "value": q * np.array(prices),
            "value_stderr": np.abs(q) * np.array(errors),
            "method": methods,
        },
        schema_overrides={"book": pl.String},
    )
