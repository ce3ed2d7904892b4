"""Portfolios of positions: read from CSV/Parquet/polars/records, validated, turned into riskgpu products.

One row per position. Columns (record keys): required ``position_id`` (ints become strings),
``instrument`` (one of ``INSTRUMENTS``), ``underlying``, ``quantity`` (signed, may be 0); optional
``book`` and the product terms ``TERMS``, named as the product classes' fields. A basket lists its
names and weights ``"|"``-separated in files (``underlying = "AAA|BBB"``, ``weights = "0.6|0.4"``;
lists in records); ``exercise_dates`` likewise. ``maturity`` (and each exercise date) is years or an
ISO date ``YYYY-MM-DD`` / ``datetime.date``, converted to years ACT/365 from the market's as-of date.
Null cells (empty CSV cells) mean "not given". Nothing is guessed: an unknown column, a field the
instrument does not take, a missing required field, a non-finite or negative number, an unknown
kind, a bool other than ``true``/``false``: each is a ``PortfolioError`` naming the file, the row
(1-based data row), the position, the field and the value. ``kind`` is required for every option
(the product classes' defaults differ: ``American`` defaults to a put), and ``direction`` and
``knock`` for barriers.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import types
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from riskgpu.io.tables import (
    TableError,
    cell_bool,
    cell_date,
    cell_float,
    cell_int,
    cell_list,
    looks_like_date,
    read_table,
)
from riskgpu.products import American, Asian, Barrier, Basket, Digital, European, Forward, Lookback, Spot
from riskgpu.products.american import BASES
from riskgpu.products.asian import AVERAGES
from riskgpu.products.barrier import DIRECTIONS, KNOCKS
from riskgpu.products.base import KINDS, MONITORING

INSTRUMENTS = ("spot", "forward", "european", "digital", "asian", "barrier", "lookback", "basket", "american")
#: Optional columns holding product terms, in the order ``to_frame`` writes them.
TERMS = (
    "weights", "strike", "maturity", "kind", "payout", "n_fixings", "average", "past_average", "past_fixings",
    "barrier", "direction", "knock", "rebate", "monitoring", "knocked", "running_max", "running_min",
    "exercise_dates", "n_exercise", "degree", "basis",
)  # fmt: skip
REQUIRED_COLUMNS = ("position_id", "instrument", "underlying", "quantity")
COLUMNS = (*REQUIRED_COLUMNS, "book", *TERMS)

_OPTION = ("strike", "maturity", "kind")
#: instrument -> (required terms, optional terms)
_TAKES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "spot": ((), ()),
    "forward": (("strike", "maturity"), ()),
    "european": (_OPTION, ()),
    "digital": (_OPTION, ("payout",)),
    "asian": (_OPTION, ("n_fixings", "average", "past_average", "past_fixings", "barrier", "direction", "knocked")),
    "barrier": ((*_OPTION, "barrier", "direction", "knock"), ("rebate", "monitoring", "n_fixings", "knocked")),
    "lookback": (("maturity", "kind"), ("strike", "monitoring", "n_fixings", "running_max", "running_min")),
    "basket": ((*_OPTION, "weights"), ("average",)),
    "american": (_OPTION, ("exercise_dates", "n_exercise", "degree", "basis")),
}
_CLASSES = {
    "spot": Spot, "forward": Forward, "european": European, "digital": Digital, "asian": Asian,
    "barrier": Barrier, "lookback": Lookback, "basket": Basket, "american": American,
}  # fmt: skip
_NONNEG = ("strike", "payout", "past_average", "rebate", "running_max", "running_min")
_INTS = ("n_fixings", "past_fixings", "n_exercise", "degree")
_CHOICES = {
    "kind": KINDS, "average": AVERAGES, "direction": DIRECTIONS, "knock": KNOCKS, "monitoring": MONITORING,
    "basis": BASES,
}  # fmt: skip
_UNSET = object()


class PortfolioError(ValueError):
    """A malformed portfolio; the message names the file (if any), row, position_id, field and value."""

    def __init__(
        self,
        reason: str,
        *,
        source: str | None = None,
        row: int | None = None,
        position_id: str | None = None,
        field: str | None = None,
        value: object = _UNSET,
    ) -> None:
        self.reason, self.source, self.row, self.position_id = reason, source, row, position_id
        self.field, self.value = field, value
        parts = [str(source)] if source is not None else []
        if row is not None:
            parts.append(f"row {row}")
        if position_id is not None:
            parts.append(f"position_id {position_id!r}")
        if field is not None:
            parts.append(f"field {field}" if value is _UNSET else f"field {field} = {value!r}")
        super().__init__(f"{', '.join(parts)}: {reason}" if parts else reason)

    @property
    def has_value(self) -> bool:
        """Whether the error names a value (``value`` may be None itself: a missing cell)."""
        return self.value is not _UNSET

    def with_source(self, source: str | None) -> PortfolioError:
        """The same error naming ``source`` (unchanged if it names one already or ``source`` is None)."""
        if source is None or self.source is not None:
            return self
        return PortfolioError(
            self.reason, source=source, row=self.row, position_id=self.position_id, field=self.field, value=self.value
        )


def _as_date(value: object, what: str) -> _dt.date:
    try:
        return cell_date(value)
    except ValueError as exc:
        raise PortfolioError(f"{what} {value!r} {exc}") from None


@dataclasses.dataclass(frozen=True)
class Position:
    """One position: ``quantity`` units of ``instrument`` on ``underlyings`` with product ``terms``.

    Construction validates and normalises everything (strings from files become numbers, bools and
    dates; ``terms`` becomes a read-only mapping without nulls); terms without dates are checked by
    building the product at once. Errors are ``PortfolioError`` naming row, position, field and value.
    """

    position_id: str
    instrument: str
    underlyings: tuple[str, ...]
    quantity: float
    terms: Mapping[str, object] = dataclasses.field(default_factory=dict, hash=False)
    book: str | None = None
    row: int | None = dataclasses.field(default=None, compare=False)

    def _error(self, reason: str, field: str | None = None, value: object = _UNSET) -> PortfolioError:
        pid = self.position_id if isinstance(self.position_id, str) else None
        return PortfolioError(reason, row=self.row, position_id=pid, field=field, value=value)

    def __post_init__(self) -> None:
        pid = self.position_id
        if isinstance(pid, int) and not isinstance(pid, bool):
            pid = str(pid)
        if not isinstance(pid, str) or not pid:
            raise PortfolioError("must be a non-empty string", row=self.row, field="position_id", value=pid)
        object.__setattr__(self, "position_id", pid)
        if self.instrument not in INSTRUMENTS:
            raise self._error(f"unknown instrument (one of {', '.join(INSTRUMENTS)})", "instrument", self.instrument)
        object.__setattr__(self, "underlyings", self._check_underlyings(self.underlyings))
        try:
            object.__setattr__(self, "quantity", cell_float(self.quantity))
        except ValueError as exc:
            raise self._error(str(exc), "quantity", self.quantity) from None
        if self.book is not None and (not isinstance(self.book, str) or not self.book):
            raise self._error("must be a non-empty string", "book", self.book)
        object.__setattr__(self, "terms", types.MappingProxyType(self._check_terms(self.terms)))
        if not self._has_dates():
            self.product(None)  # everything is known now: let the product class check the rest

    def __reduce__(self) -> tuple:
        # terms is a read-only mappingproxy, which pickle refuses: rebuild from a plain dict
        fields = (self.position_id, self.instrument, self.underlyings, self.quantity, dict(self.terms), self.book)
        return (Position, (*fields, self.row))

    def _check_underlyings(self, value: object) -> tuple[str, ...]:
        names = tuple(cell_list(value))
        if not names or any(not isinstance(n, str) or not n for n in names):
            raise self._error("must be one or more non-empty names", "underlying", value)
        if len(set(names)) != len(names):
            raise self._error("names an underlying twice", "underlying", value)
        if self.instrument != "basket" and len(names) != 1:
            raise self._error(f"a {self.instrument} takes one underlying", "underlying", value)
        return names

    def _check_terms(self, terms: object) -> dict[str, object]:
        if not isinstance(terms, Mapping):
            raise self._error(f"terms must be a mapping, got {type(terms).__name__}")
        required, optional = _TAKES[self.instrument]
        out: dict[str, object] = {}
        for key, raw in terms.items():
            if key not in TERMS:
                raise self._error(f"unknown field (known: {', '.join(TERMS)})", key, raw)
            if raw is None:
                continue
            if key not in required and key not in optional:
                raise self._error(f"a {self.instrument} does not take {key!r}", key, raw)
            try:
                out[key] = _term(key, raw)
            except ValueError as exc:
                raise self._error(str(exc), key, raw) from None
        for key in required:
            if key not in out:
                raise self._error(f"is required for a {self.instrument}", key, None)
        if "weights" in out and len(out["weights"]) != len(self.underlyings):
            raise self._error(
                f"has {len(out['weights'])} weights for {len(self.underlyings)} underlyings "
                f"{'|'.join(self.underlyings)!r}",
                "weights",
                terms["weights"],
            )
        return out

    def _has_dates(self) -> bool:
        dates = (self.terms.get("maturity"), *self.terms.get("exercise_dates", ()))
        return any(isinstance(d, _dt.date) for d in dates)

    def _years(self, field: str, value: object, asof: _dt.date | None) -> float:
        if not isinstance(value, _dt.date):
            return float(value)
        if asof is None:
            raise self._error("is a date: it needs the market's as-of date (Portfolio.products(market))", field, value)
        if value < asof:
            raise self._error(f"is before the as-of date {asof.isoformat()} (expired)", field, value.isoformat())
        return (value - asof).days / 365.0

    def product(self, asof: _dt.date | str | None) -> object:
        """The riskgpu product of this position, date maturities in years ACT/365 from ``asof``.

        Parameters
        ----------
        asof : the market's as-of date (``datetime.date`` or ISO string); needed only for date terms.

        Returns
        -------
        object
            ``riskgpu.Spot()``, ``riskgpu.European(...)``, ``riskgpu.Basket(weights=...)``, ...

        Raises
        ------
        PortfolioError
            An expired date, or the product class's own check, with this position's row and id.
        """
        day = None if asof is None else _as_date(asof, "asof")
        kwargs = dict(self.terms)
        if "maturity" in kwargs:
            kwargs["maturity"] = self._years("maturity", kwargs["maturity"], day)
        if "exercise_dates" in kwargs:
            kwargs["exercise_dates"] = tuple(self._years("exercise_dates", d, day) for d in kwargs["exercise_dates"])
        try:
            return _CLASSES[self.instrument](**kwargs)
        except ValueError as exc:
            m = re.match(r"^[A-Za-z]+\.(\w+)", str(exc))
            field = m.group(1) if m and m.group(1) in TERMS else None
            raise self._error(str(exc), field, self.terms.get(field) if field else _UNSET) from None


def _term(key: str, raw: object) -> object:
    """Normalise one term (raises ValueError with the reason)."""
    if key == "maturity":
        x = cell_date(raw) if looks_like_date(raw) else cell_float(raw)
        if isinstance(x, float) and x < 0.0:
            raise ValueError("must be >= 0")
        return x
    if key == "weights":
        return tuple(cell_float(v) for v in cell_list(raw))
    if key == "exercise_dates":
        return tuple(cell_date(v) if looks_like_date(v) else cell_float(v) for v in cell_list(raw))
    if key in _CHOICES:
        if raw not in _CHOICES[key]:
            raise ValueError(f"must be one of {', '.join(map(repr, _CHOICES[key]))}")
        return str(raw)
    if key == "knocked":
        return cell_bool(raw)
    if key in _INTS:
        return cell_int(raw)
    x = cell_float(raw)
    if key in _NONNEG and x < 0.0:
        raise ValueError("must be >= 0")
    if key == "barrier" and x <= 0.0:
        raise ValueError("must be > 0")
    return x


def _position(record: object, row: int) -> Position:
    """A Position from one record (file row or dict) with its raw cells."""
    if not isinstance(record, Mapping):
        raise PortfolioError(f"a record must be a mapping, got {type(record).__name__}", row=row)
    raw_id = record.get("position_id")
    pid = str(raw_id) if isinstance(raw_id, str | int) and not isinstance(raw_id, bool) else None
    for key in record:
        if key not in COLUMNS:
            raise PortfolioError(
                f"unknown field (known: {', '.join(COLUMNS)})", row=row, position_id=pid, field=key, value=record[key]
            )
    for key in REQUIRED_COLUMNS:
        if record.get(key) is None:
            raise PortfolioError("is required", row=row, position_id=pid, field=key, value=None)
    return Position(
        position_id=record["position_id"],
        instrument=record["instrument"],
        underlyings=record["underlying"],
        quantity=record["quantity"],
        terms={k: record[k] for k in TERMS if k in record},
        book=record.get("book"),
        row=row,
    )


class Portfolio:
    """An ordered, validated collection of positions with unique ids (at least one)."""

    def __init__(self, positions: Iterable[Position], *, source: str | None = None) -> None:
        self.positions: tuple[Position, ...] = tuple(positions)
        self.source = None if source is None else str(source)
        if not self.positions:
            raise PortfolioError("the portfolio is empty (no positions)", source=self.source)
        seen: dict[str, int] = {}
        for i, p in enumerate(self.positions, start=1):
            if not isinstance(p, Position):
                raise PortfolioError(f"expected a Position, got {type(p).__name__}", source=self.source, row=i)
            row = p.row if p.row is not None else i
            if p.position_id in seen:
                raise PortfolioError(
                    f"duplicate position_id: rows {seen[p.position_id]} and {row}",
                    source=self.source,
                    row=row,
                    position_id=p.position_id,
                    field="position_id",
                    value=p.position_id,
                )
            seen[p.position_id] = row

    # ------------------------------------------------------------------------------------------ inputs
    @classmethod
    def read(cls, path: str | Path) -> Portfolio:
        """Read a ``.csv`` or ``.parquet`` portfolio (see the module docstring for the columns)."""
        try:
            df = read_table(path)
        except TableError as exc:
            raise PortfolioError(str(exc)) from exc
        return cls.from_frame(df, source=str(path))

    @classmethod
    def from_frame(cls, df: Any, *, source: str | None = None) -> Portfolio:
        """A portfolio from a polars DataFrame, one row per position."""
        check_columns(df, source)
        return cls.from_records(df.iter_rows(named=True), source=source)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, object]], *, source: str | None = None) -> Portfolio:
        """A portfolio from mappings with the column names as keys (lists allowed for baskets)."""
        positions = []
        for row, record in enumerate(records, start=1):
            try:
                positions.append(_position(record, row))
            except PortfolioError as exc:
                raise exc.with_source(source) from None
        return cls(positions, source=source)

    # ------------------------------------------------------------------------------------------- views
    def __len__(self) -> int:
        return len(self.positions)

    def __iter__(self) -> Iterator[Position]:
        return iter(self.positions)

    def __repr__(self) -> str:
        return f"Portfolio({len(self)} positions, source={self.source!r})"

    @property
    def ids(self) -> tuple[str, ...]:
        """Position ids in portfolio order."""
        return tuple(p.position_id for p in self.positions)

    @property
    def books(self) -> tuple[str, ...]:
        """Distinct books in order of first appearance (positions without a book are left out)."""
        return tuple(dict.fromkeys(p.book for p in self.positions if p.book is not None))

    @property
    def underlyings(self) -> tuple[str, ...]:
        """The distinct underlyings the positions hold, sorted by name."""
        return tuple(sorted({u for p in self.positions for u in p.underlyings}))

    # ------------------------------------------------------------------------------------------ market
    def products(self, market: Any) -> list[object]:
        """The positions' products, validated against ``market`` (its ``asof``, ``names``, spots).

        Raises
        ------
        PortfolioError
            An underlying the market does not know, a date before the as-of date, a lookback's running
            extremes not bracketing the spot, or a product class's check, naming position/field/value.
        """
        known = set(market.names)
        out = []
        for p in self.positions:
            try:
                for name in p.underlyings:
                    if name not in known:
                        raise p._error("unknown underlying (not in the market)", "underlying", name)
                product = p.product(market.asof)
                if isinstance(product, Lookback):
                    _check_extremes(p, product, float(market.spot_vector(p.underlyings)[0]))
            except PortfolioError as exc:
                raise exc.with_source(self.source) from None
            out.append(product)
        return out

    def check(self, market: Any) -> None:
        """Validate against ``market`` like ``products`` does, returning nothing."""
        self.products(market)

    # ----------------------------------------------------------------------------------------- derived
    def scaled(self, factor: float) -> Portfolio:
        """Every quantity times ``factor`` (finite)."""
        try:
            f = cell_float(factor)
        except ValueError as exc:
            raise PortfolioError(f"scaled: factor {factor!r} {exc}") from None
        return Portfolio((dataclasses.replace(p, quantity=p.quantity * f) for p in self.positions), source=self.source)

    def subset(self, ids: Iterable[str] | str) -> Portfolio:
        """The positions with these ids, in portfolio order; an unknown id is an error."""
        wanted = {ids} if isinstance(ids, str) else set(map(str, ids))
        unknown = sorted(wanted - set(self.ids))
        if unknown:
            raise PortfolioError(f"subset: unknown position_id(s) {', '.join(map(repr, unknown))}", source=self.source)
        return Portfolio((p for p in self.positions if p.position_id in wanted), source=self.source)

    def to_frame(self) -> Any:
        """A polars DataFrame that ``from_frame`` reads back to an equal portfolio.

        Lists (basket names and weights, exercise dates) are ``"|"``-joined strings; a maturity column
        mixing years and dates is a string column (years as ``repr`` floats, dates ISO).
        """
        import polars as pl

        used = [t for t in TERMS if any(t in p.terms for p in self.positions)]
        cols: dict[str, list[object]] = {
            "position_id": [p.position_id for p in self.positions],
            "instrument": [p.instrument for p in self.positions],
            "underlying": ["|".join(p.underlyings) for p in self.positions],
            "quantity": [p.quantity for p in self.positions],
        }
        schema: dict[str, Any] = {"position_id": pl.String, "instrument": pl.String, "underlying": pl.String}
        schema["quantity"] = pl.Float64
        if any(p.book is not None for p in self.positions):
            cols["book"], schema["book"] = [p.book for p in self.positions], pl.String
        for t in used:
            values = [p.terms.get(t) for p in self.positions]
            if t in ("weights", "exercise_dates") or (t == "maturity" and any(isinstance(v, _dt.date) for v in values)):
                cols[t], schema[t] = [None if v is None else _join(v) for v in values], pl.String
            else:
                cols[t] = values
                schema[t] = pl.Int64 if t in _INTS else pl.Boolean if t == "knocked" else pl.Float64
                schema[t] = pl.String if t in _CHOICES else schema[t]
        return pl.DataFrame(cols, schema=schema)


def check_columns(df: Any, source: str | None) -> None:
    """A polars DataFrame with only known columns and every required one, or a ``PortfolioError``."""
    if not (hasattr(df, "columns") and hasattr(df, "iter_rows")):
        raise PortfolioError(f"expected a polars DataFrame, got {type(df).__name__}", source=source)
    for col in df.columns:
        if col not in COLUMNS:
            raise PortfolioError(f"unknown column {col!r} (known: {', '.join(COLUMNS)})", source=source, field=col)
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise PortfolioError(f"missing required column(s) {', '.join(missing)}", source=source)


def _join(value: object) -> str:
    items = value if isinstance(value, tuple) else (value,)
    return "|".join(v.isoformat() if isinstance(v, _dt.date) else repr(float(v)) for v in items)


def _check_extremes(p: Position, product: Lookback, spot: float) -> None:
    if product.running_max is not None and product.running_max < spot:
        raise p._error(f"is below the market spot {spot!r}", "running_max", product.running_max)
    if product.running_min is not None and product.running_min > spot:
        raise p._error(f"is above the market spot {spot!r}", "running_min", product.running_min)
