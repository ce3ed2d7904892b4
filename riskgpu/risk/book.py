"""A portfolio resolved against a market: products, quantities and market vectors in a canonical order.

Positions are sorted by ``position_id`` and underlyings by name, so nothing computed from a ``Book`` depends
on the order of the portfolio's rows or of the market's underlyings.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Book:
    """The resolved inputs of a risk run.

    ``ids``, ``quantities`` ``(n_pos,)``, ``products`` and ``assets`` (per position, the indices of its
    underlyings in ``names``) follow the sorted position ids; ``spots``, ``vols``, ``divs`` ``(k,)`` and
    ``corr`` ``(k, k)`` follow ``names`` (the portfolio's underlyings, sorted).
    """

    ids: tuple[str, ...]
    books: tuple[str | None, ...]
    instruments: tuple[str, ...]
    quantities: np.ndarray
    products: tuple
    assets: tuple[tuple[int, ...], ...]
    names: tuple[str, ...]
    spots: np.ndarray
    vols: np.ndarray
    divs: np.ndarray
    corr: np.ndarray
    rate: float

    @property
    def n_positions(self) -> int:
        """Number of positions."""
        return len(self.ids)

    def underlyings(self, p: int) -> tuple[str, ...]:
        """Names of position ``p``'s underlyings."""
        return tuple(self.names[i] for i in self.assets[p])


def resolve_book(portfolio: object, market: object, *, names: tuple[str, ...] | None = None) -> Book:
    """Validate ``portfolio`` against ``market`` (errors name the position and field) and resolve it.

    ``names``: the underlyings the scenarios draw (default the portfolio's; a superset keeps the scenarios of
    two books comparable, as ``incremental_var`` needs)."""
    if not hasattr(portfolio, "positions") or not hasattr(portfolio, "products"):
        raise TypeError(f"portfolio must be a riskgpu.Portfolio, got {type(portfolio).__name__}")
    if not hasattr(market, "asof") or not hasattr(market, "spot_vector"):
        raise TypeError(f"market must be a riskgpu.Market, got {type(market).__name__}")
    positions = list(portfolio.positions)
    if not positions:
        raise ValueError("the portfolio has no positions")
    products = portfolio.products(market)
    order = sorted(range(len(positions)), key=lambda i: positions[i].position_id)
    used = {u for p in positions for u in p.underlyings}
    names = tuple(sorted(used if names is None else set(names) | used))
    index = {n: i for i, n in enumerate(names)}
    return Book(
        ids=tuple(positions[i].position_id for i in order),
        books=tuple(positions[i].book for i in order),
        instruments=tuple(positions[i].instrument for i in order),
        quantities=np.array([positions[i].quantity for i in order], dtype=np.float64),
        products=tuple(products[i] for i in order),
        assets=tuple(tuple(index[u] for u in positions[i].underlyings) for i in order),
        names=names,
        spots=np.asarray(market.spot_vector(names), dtype=np.float64),
        vols=np.asarray(market.vol_vector(names), dtype=np.float64),
        divs=np.asarray(market.div_vector(names), dtype=np.float64),
        corr=np.asarray(market.corr_matrix(names), dtype=np.float64),
        rate=float(market.rate),
    )
