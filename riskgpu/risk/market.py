"""The market a portfolio is valued in: as-of date, spots, flat vols, dividend yields, rate, correlation, history."""

from __future__ import annotations

import copy
import datetime as _dt
import types
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from riskgpu.io.tables import TableError, cell_date, cell_float, cell_str, history_series, read_table, read_toml
from riskgpu.models.gbm import GBM
from riskgpu.risk.correlation import REPAIRS, check_correlation_named, correlation_from_frame

MARKET_KEYS = ("asof", "rate")
UNDERLYING_COLUMNS = ("underlying", "spot", "vol", "div")


class MarketError(ValueError):
    """Malformed market data; the message names the file (if any), the row and the field/value.

    ``part`` says which input was wrong (``"asof"``, ``"spots"``, ``"corr"``, ``"history"``, ...).
    """

    def __init__(self, message: str, *, part: str | None = None) -> None:
        self.part = part
        super().__init__(message)


class CorrelationRepairWarning(UserWarning):
    """A correlation matrix that was not positive semi-definite was replaced by the nearest one."""


def _is_frame(obj: object) -> bool:
    return hasattr(obj, "columns") and hasattr(obj, "iter_rows")


def _number(value: object, what: str, part: str, *, low: float | None = None, strict: bool = False) -> float:
    try:
        x = cell_float(value)
    except ValueError as exc:
        raise MarketError(f"{what} = {value!r}: {exc}", part=part) from None
    if low is not None and (x <= low if strict else x < low):
        raise MarketError(f"{what} = {value!r}: must be {'>' if strict else '>='} {low:g}", part=part)
    return x


class Market:
    """Market data at one as-of date: one currency, flat rate, flat vol and dividend yield per underlying.

    Parameters
    ----------
    asof : ``datetime.date`` or ISO ``YYYY-MM-DD`` string.
    spots : ``{name: spot}``, spots > 0; their order is ``names``, the order of every vector and matrix.
    vols : ``{name: vol}`` for every name of ``spots`` (>= 0, finite); no other names.
    rate : the continuously compounded risk-free rate.
    divs : ``{name: continuous dividend yield}`` (finite) for some names of ``spots`` (0 for the rest).
    corr : ``None`` (identity); an ``(n, n)`` array in ``names`` order; a mapping ``{(a, b): rho}``
        (missing pairs 0, symmetric, diagonal 1 implied); or a polars DataFrame with an ``underlying``
        column and one column per name. It must be symmetric (1e-10), have a unit diagonal and finite
        entries in [-1, 1]. One that is not positive semi-definite is an error with ``repair="none"``;
        with ``repair="nearest"`` it is replaced by the nearest correlation matrix (Higham 2002,
        ``riskgpu.risk.correlation``), reported in ``repair_report`` and by a ``CorrelationRepairWarning``.
    history : polars DataFrame with columns ``date`` (``pl.Date`` or ISO strings), ``underlying``,
        ``close`` (finite, > 0; strings are parsed); no duplicate ``(date, underlying)``; only names of ``spots``.
    repair : ``"none"`` or ``"nearest"``.
    source : where the data came from (a folder), for messages.

    Folder layout read by ``Market.read(folder)``
    ---------------------------------------------
    ``market.toml``
        exactly the keys ``asof`` (a TOML date ``2024-06-28`` or the string ``"2024-06-28"``) and
        ``rate`` (a number); an unknown or missing key is an error.
    ``underlyings.csv``
        columns ``underlying``, ``spot``, ``vol`` and optionally ``div`` (an empty ``div`` cell is 0);
        one row per name, no other columns, no repeated names.
    ``correlation.csv`` (optional)
        column ``underlying`` plus one column per name, one row per name; the names must be those of
        ``underlyings.csv``. Without it the underlyings are uncorrelated.
    ``history.csv`` or ``history.parquet`` (optional, not both)
        columns ``date`` (``YYYY-MM-DD``), ``underlying``, ``close``.

    Every error names the file, the row (1-based data row) and the field and value. A missing folder,
    ``market.toml`` or ``underlyings.csv`` is an error naming the path.
    """

    def __init__(
        self,
        *,
        asof: _dt.date | str,
        spots: Mapping[str, float],
        vols: Mapping[str, float],
        rate: float,
        divs: Mapping[str, float] | None = None,
        corr: Any = None,
        history: Any = None,
        repair: str = "none",
        source: str | None = None,
    ) -> None:
        self.source = None if source is None else str(source)
        try:
            self.asof: _dt.date = cell_date(asof)
        except ValueError as exc:
            raise MarketError(f"asof = {asof!r}: {exc}", part="asof") from None
        if repair not in REPAIRS:
            raise MarketError(f"repair must be one of {', '.join(map(repr, REPAIRS))}, got {repair!r}", part="repair")
        self.rate: float = _number(rate, "rate", "rate")
        if not isinstance(spots, Mapping) or not spots:
            raise MarketError(f"spots must be a non-empty mapping {{name: spot}}, got {spots!r}", part="spots")
        for name in spots:
            if not isinstance(name, str) or not name:
                raise MarketError(f"spots: an underlying name must be a non-empty string, got {name!r}", part="spots")
        self.names: tuple[str, ...] = tuple(spots)
        self.spots = types.MappingProxyType(
            {n: _number(v, f"spots[{n!r}]", "spots", low=0.0, strict=True) for n, v in spots.items()}
        )
        self.vols = types.MappingProxyType(self._per_name(vols, "vols", low=0.0, complete=True))
        self.divs = types.MappingProxyType(self._per_name(divs or {}, "divs", low=None, complete=False))
        try:
            self._corr, self.repair_report = check_correlation_named(self._corr_input(corr), self.names, repair=repair)
        except ValueError as exc:
            raise MarketError(str(exc), part="corr") from None
        self._corr.setflags(write=False)
        if self.repair_report is not None:
            r = self.repair_report
            warnings.warn(
                f"{self.source + ': ' if self.source else ''}the correlation matrix was not positive semi-definite "
                f"(smallest eigenvalue {r['min_eigenvalue_before']:.6g}) and was replaced by the nearest correlation "
                f"matrix (repair='nearest'): largest change {r['max_abs_change']:.6g} at {r['pair']}: "
                f"{r['pair_before']:.6g} -> {r['pair_after']:.6g}; smallest eigenvalue now "
                f"{r['min_eigenvalue_after']:.3g}. See market.repair_report.",
                CorrelationRepairWarning,
                stacklevel=2,
            )
        try:
            self._history = None if history is None else history_series(history, self.names)
        except ValueError as exc:
            raise MarketError(f"history: {exc}", part="history") from None

    def _per_name(self, values: object, what: str, *, low: float | None, complete: bool) -> dict[str, float]:
        if not isinstance(values, Mapping):
            raise MarketError(f"{what} must be a mapping {{name: value}}, got {values!r}", part=what)
        for name in values:
            if name not in self.spots:
                raise MarketError(f"{what}[{name!r}]: {name!r} is not an underlying of spots", part=what)
        out = {}
        for name in self.names:
            if name not in values:
                if complete:
                    raise MarketError(f"{what}: no value for underlying {name!r}", part=what)
                out[name] = 0.0
            else:
                out[name] = _number(values[name], f"{what}[{name!r}]", what, low=low)
        return out

    def _corr_input(self, corr: object) -> object:
        names, index = self.names, {n: i for i, n in enumerate(self.names)}
        if corr is None:
            return np.eye(len(names))
        if isinstance(corr, Mapping):
            c, seen = np.eye(len(names)), {}
            for key, rho in corr.items():
                if not (isinstance(key, tuple) and len(key) == 2 and all(k in index for k in key)):
                    raise ValueError(f"corr key {key!r} must be a pair (a, b) of underlyings of spots")
                x = _number(rho, f"corr[{key[0]}, {key[1]}]", "corr")
                a, b = key
                other = seen.get((b, a))
                if other is not None and other != x:
                    raise ValueError(f"corr[{a}, {b}] = {x!r} but corr[{b}, {a}] = {other!r}: not symmetric")
                if a == b and x != 1.0:
                    raise ValueError(f"corr[{a}, {b}] = {x!r}: the diagonal must be 1")
                seen[key] = x
                c[index[a], index[b]] = c[index[b], index[a]] = x
            return c
        if _is_frame(corr):
            return correlation_from_frame(corr, names)
        return corr

    # ------------------------------------------------------------------------------------------ vectors
    def _index(self, names: Iterable[str] | str) -> list[int]:
        seq = [names] if isinstance(names, str) else list(names)
        index = {n: i for i, n in enumerate(self.names)}
        for n in seq:
            if n not in index:
                raise MarketError(f"unknown underlying {n!r} (the market has {', '.join(self.names)})", part="names")
        if len(set(seq)) != len(seq) or not seq:
            raise MarketError(f"names must be distinct and non-empty, got {seq!r}", part="names")
        return [index[n] for n in seq]

    def _vector(self, values: Mapping[str, float], names: Iterable[str] | str) -> np.ndarray:
        return np.array([values[self.names[i]] for i in self._index(names)], dtype=np.float64)

    def spot_vector(self, names: Iterable[str] | str) -> np.ndarray:
        """Spots of ``names`` in that order, float64 ``(k,)``."""
        return self._vector(self.spots, names)

    def vol_vector(self, names: Iterable[str] | str) -> np.ndarray:
        """Volatilities of ``names``, float64 ``(k,)``."""
        return self._vector(self.vols, names)

    def div_vector(self, names: Iterable[str] | str) -> np.ndarray:
        """Dividend yields of ``names``, float64 ``(k,)``."""
        return self._vector(self.divs, names)

    def corr_matrix(self, names: Iterable[str] | str | None = None) -> np.ndarray:
        """Correlation sub-matrix ``(k, k)`` of ``names`` in that order (all names by default)."""
        idx = list(range(len(self.names))) if names is None else self._index(names)
        return self._corr[np.ix_(idx, idx)].copy()

    def model(self, names: Iterable[str] | str) -> GBM:
        """A GBM for ``names`` (one asset: scalar parameters; several: vectors and the correlation sub-matrix)."""
        idx = self._index(names)
        sel = [self.names[i] for i in idx]
        s, v, q = self.spot_vector(sel), self.vol_vector(sel), self.div_vector(sel)
        if len(idx) == 1:
            return GBM(spot=float(s[0]), vol=float(v[0]), rate=self.rate, div=float(q[0]))
        return GBM(spot=tuple(s), vol=tuple(v), rate=self.rate, div=tuple(q), corr=self.corr_matrix(sel))

    def closes(self, names: Iterable[str] | str, *, end: _dt.date | str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Aligned daily closes of ``names`` on every date ``<= end`` (default: ``asof``).

        Returns
        -------
        (numpy.ndarray, numpy.ndarray)
            Dates ``datetime64[D]`` ``(n,)`` ascending (the union of the names' dates) and closes ``(n, k)``.

        Raises
        ------
        MarketError
            No history, a name without history, no dates up to ``end``, or a name missing a close on a date
            of the union (the error names the earliest such date and the underlying).
        """
        idx = self._index(names)
        sel = [self.names[i] for i in idx]
        if self._history is None:
            raise MarketError("this market has no history", part="history")
        stop = np.datetime64(self.asof if end is None else cell_date(end), "D")
        series = []
        for n in sel:
            if n not in self._history:
                raise MarketError(f"no history for underlying {n!r}", part="history")
            d, c = self._history[n]
            keep = d <= stop
            series.append((d[keep], c[keep]))
        dates = np.unique(np.concatenate([d for d, _ in series]))
        if dates.size == 0:
            raise MarketError(f"no history of {', '.join(sel)} on or before {stop}", part="history")
        out = np.empty((dates.size, len(sel)))
        missing = []
        for j, (d, c) in enumerate(series):
            pos = np.searchsorted(d, dates).clip(max=max(d.size - 1, 0))
            have = (d[pos] == dates) if d.size else np.zeros(dates.size, dtype=bool)
            if not have.all():
                missing.append((dates[np.argmin(have)], j))
            elif d.size:
                out[:, j] = c[pos]
        if missing:
            day, j = min(missing)
            raise MarketError(
                f"history: no close for underlying {sel[j]!r} on {day} (other names have one)", part="history"
            )
        return dates, out

    # -------------------------------------------------------------------------------------------- copies
    def _replaced(self, attr: str, values: Mapping[str, float], *, low: float, strict: bool) -> Market:
        if not isinstance(values, Mapping):
            raise MarketError(f"{attr} must be a mapping {{name: value}}, got {values!r}", part=attr)
        new = dict(getattr(self, attr))
        for n, v in values.items():
            self._index([n])
            new[n] = _number(v, f"{attr}[{n!r}]", attr, low=low, strict=strict)
        out = copy.copy(self)
        setattr(out, attr, types.MappingProxyType(new))
        return out

    def with_spots(self, spots: Mapping[str, float]) -> Market:
        """A copy with these spots replaced (others unchanged)."""
        return self._replaced("spots", spots, low=0.0, strict=True)

    def with_vols(self, vols: Mapping[str, float]) -> Market:
        """A copy with these volatilities replaced (others unchanged)."""
        return self._replaced("vols", vols, low=0.0, strict=False)

    def __getstate__(self) -> dict[str, object]:
        # the read-only mappingproxy views cannot be pickled: store plain dicts
        return {k: dict(v) if isinstance(v, types.MappingProxyType) else v for k, v in self.__dict__.items()}

    def __setstate__(self, state: dict[str, object]) -> None:
        for k in ("spots", "vols", "divs"):
            state[k] = types.MappingProxyType(state[k])
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"Market(asof={self.asof.isoformat()}, names={self.names!r}, rate={self.rate!r}, source={self.source!r})"

    # ---------------------------------------------------------------------------------------------- read
    @classmethod
    def read(cls, folder: str | Path, *, repair: str = "none") -> Market:
        """Read a market folder (layout in the class docstring)."""
        root = Path(folder)
        if not root.is_dir():
            raise MarketError(f"{root}: no such market folder")
        toml_path, und_path = root / "market.toml", root / "underlyings.csv"
        for p in (toml_path, und_path):
            if not p.is_file():
                raise MarketError(f"{p}: missing (a market folder needs market.toml and underlyings.csv)")
        conf = _read(read_toml, toml_path)
        for key in conf:
            if key not in MARKET_KEYS:
                raise MarketError(f"{toml_path}: unknown key {key!r} (known: {', '.join(MARKET_KEYS)})")
        for key in MARKET_KEYS:
            if key not in conf:
                raise MarketError(f"{toml_path}: missing key {key!r}")
        if isinstance(conf["rate"], str):
            raise MarketError(f"{toml_path}: rate = {conf['rate']!r}: must be a number, not a string")
        spots, vols, divs = _underlyings(_read(read_table, und_path), und_path)
        files = {"asof": toml_path, "rate": toml_path, "spots": und_path, "vols": und_path, "divs": und_path}
        corr = None
        if (root / "correlation.csv").is_file():
            files["corr"] = root / "correlation.csv"
            corr = _read(read_table, files["corr"])
        history = None
        found = [root / f for f in ("history.csv", "history.parquet") if (root / f).is_file()]
        if len(found) > 1:
            raise MarketError(f"{root}: both history.csv and history.parquet exist; keep one")
        if found:
            files["history"] = found[0]
            history = _read(read_table, found[0])
        try:
            return cls(
                asof=conf["asof"], spots=spots, vols=vols, rate=conf["rate"], divs=divs, corr=corr,
                history=history, repair=repair, source=str(root),
            )  # fmt: skip
        except MarketError as exc:
            where = files.get(exc.part or "")
            raise (MarketError(f"{where}: {exc}", part=exc.part) if where else exc) from None


def _read(reader: Any, path: Path) -> Any:
    try:
        return reader(path)
    except TableError as exc:
        raise MarketError(str(exc)) from exc


def _underlyings(df: Any, path: Path) -> tuple[dict[str, object], dict[str, object], dict[str, object]]:
    for col in df.columns:
        if col not in UNDERLYING_COLUMNS:
            raise MarketError(f"{path}: unknown column {col!r} (known: {', '.join(UNDERLYING_COLUMNS)})")
    for col in UNDERLYING_COLUMNS[:3]:
        if col not in df.columns:
            raise MarketError(f"{path}: missing column {col!r}")
    if df.height == 0:
        raise MarketError(f"{path}: no underlyings")
    spots: dict[str, object] = {}
    vols: dict[str, object] = {}
    divs: dict[str, object] = {}
    rows: dict[str, int] = {}
    for row, rec in enumerate(df.iter_rows(named=True), start=1):
        try:
            name = cell_str(rec["underlying"])
        except ValueError as exc:
            raise MarketError(f"{path}, row {row}, field underlying = {rec['underlying']!r}: {exc}") from None
        if name in rows:
            raise MarketError(f"{path}, row {row}, field underlying = {name!r}: repeats row {rows[name]}")
        rows[name] = row
        at = f"{path}, row {row} ({name}), field"
        spots[name] = _number(rec["spot"], f"{at} spot", "spots", low=0.0, strict=True)
        vols[name] = _number(rec["vol"], f"{at} vol", "vols", low=0.0)
        if rec.get("div") is not None:
            divs[name] = _number(rec["div"], f"{at} div", "divs")
    return spots, vols, divs
