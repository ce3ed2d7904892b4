"""Tables on disk: CSV and Parquet through polars (imported lazily), TOML through the stdlib, and cell parsers.

This module is the only place polars touches files (DESIGN.md section 1). CSV files are read with every
column as a string, so that the callers' checks (not polars' type inference) decide what a cell means;
empty CSV cells are nulls ("not given"). Parquet columns keep their types. The cell parsers accept both:
a cell is a Python value (str, int, float, bool, datetime.date, None) and a parser either returns the
typed value or raises ``ValueError`` with the reason (the caller adds file, row and field).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: File suffixes ``read_table`` understands.
TABLE_SUFFIXES = (".csv", ".parquet")
HISTORY_COLUMNS = ("date", "underlying", "close")

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class TableError(ValueError):
    """A file that cannot be read as a table (missing, unreadable, unknown suffix); names the path."""


def read_table(path: str | Path) -> Any:
    """Read a ``.csv`` (every column a string, empty cells null) or ``.parquet`` file as a polars DataFrame.

    Parameters
    ----------
    path : the file; its suffix picks the reader.

    Returns
    -------
    polars.DataFrame

    Raises
    ------
    TableError
        Naming the file: it does not exist, its suffix is neither ``.csv`` nor ``.parquet``, or polars
        cannot parse it.
    """
    import polars as pl

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise TableError(f"{p}: not a CSV or Parquet file (suffix {p.suffix!r}; expected .csv or .parquet)")
    if not p.is_file():
        raise TableError(f"{p}: no such file")
    try:
        if suffix == ".csv":
            return pl.read_csv(p, infer_schema=False)
        return pl.read_parquet(p)
    except Exception as exc:  # polars raises many types (ComputeError, NoDataError, OSError, ...)
        raise TableError(f"{p}: cannot read the file: {type(exc).__name__}: {exc}") from exc


def write_table(df: Any, path: str | Path) -> Path:
    """Write a polars DataFrame as ``.csv`` or ``.parquet`` (by suffix); returns the path."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        df.write_csv(p)
    elif suffix == ".parquet":
        df.write_parquet(p)
    else:
        raise TableError(f"{p}: not a CSV or Parquet file (suffix {p.suffix!r}; expected .csv or .parquet)")
    return p


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file with the stdlib ``tomllib``; a missing or malformed file is a TableError naming it."""
    p = Path(path)
    if not p.is_file():
        raise TableError(f"{p}: no such file")
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise TableError(f"{p}: not valid TOML: {exc}") from exc


# ------------------------------------------------------------------------------------------- cell parsers
def is_null(value: object) -> bool:
    """True for a missing cell: None (a CSV empty cell is read as None)."""
    return value is None


def cell_float(value: object) -> float:
    """A finite real number from a number or a numeric string; bools, NaN and infinities are errors."""
    if isinstance(value, str):
        if not _NUMBER.match(value):
            try:
                x = float(value)  # "nan", "inf": report them as non-finite below
            except ValueError:
                raise ValueError("is not a number") from None
            if math.isfinite(x):
                raise ValueError("is not a number")
        else:
            x = float(value)
    elif isinstance(value, bool | np.bool_) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValueError("is not a number")
    else:
        x = float(value)
    if not math.isfinite(x):
        raise ValueError("must be finite")
    return x


def cell_int(value: object) -> int:
    """An integer from an int, an integral float or an integer string (``"12"``)."""
    if isinstance(value, str):
        if not _INTEGER.match(value):
            raise ValueError("is not an integer")
        return int(value)
    if isinstance(value, bool | np.bool_):
        raise ValueError("is not an integer")
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer():
        return int(value)
    raise ValueError("is not an integer")


def cell_bool(value: object) -> bool:
    """A bool from a bool or the exact strings ``"true"`` / ``"false"``."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if value == "true":
        return True
    if value == "false":
        return False
    raise ValueError("must be true or false")


def cell_date(value: object) -> _dt.date:
    """A date from a ``datetime.date`` (not a datetime) or an ISO ``YYYY-MM-DD`` string."""
    if isinstance(value, _dt.datetime):
        raise ValueError("must be a date without a time of day")
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError("is not a valid date") from None
    raise ValueError("is not a date (YYYY-MM-DD)")


def looks_like_date(value: object) -> bool:
    """True for a ``datetime.date`` or a string shaped like ``YYYY-MM-DD``."""
    return isinstance(value, _dt.date) or (isinstance(value, str) and bool(_ISO_DATE.match(value)))


def cell_str(value: object) -> str:
    """A non-empty string, exactly as given."""
    if not isinstance(value, str) or value == "":
        raise ValueError("must be a non-empty string")
    return value


def cell_list(value: object) -> list[object]:
    """The items of a ``"|"``-separated string (files) or a list/tuple/array (records, Parquet lists)."""
    if isinstance(value, str):
        return value.split("|")
    if isinstance(value, list | tuple | np.ndarray) or type(value).__name__ == "Series":
        return list(value)
    return [value]


def history_series(df: Any, names: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Validate a history table (``date``, ``underlying``, ``close``) of the underlyings ``names``.

    ``date``: ``pl.Date`` or ``YYYY-MM-DD`` strings; ``close``: numbers or numeric strings, finite and > 0;
    no repeated ``(date, underlying)``; no other columns and no other names. Returns
    ``{name: (dates datetime64[D] ascending, closes float64)}``; raises ValueError naming the row
    (1-based), date, underlying, field and value.
    """
    import polars as pl

    def fail(msg: str) -> ValueError:
        return ValueError(msg)

    if not hasattr(df, "columns") and hasattr(df, "iter_rows"):
        raise fail(f"expected a polars DataFrame, got {type(df).__name__}")
    for col in df.columns:
        if col not in HISTORY_COLUMNS:
            raise fail(f"unknown column {col!r} (known: {', '.join(HISTORY_COLUMNS)})")
    for col in HISTORY_COLUMNS:
        if col not in df.columns:
            raise fail(f"missing column {col!r}")
    t = df.select(HISTORY_COLUMNS).with_row_index("row", offset=1)
    if t.schema["date"] == pl.String:
        good = pl.col("date").str.contains(r"^\d{4}-\d{2}-\d{2}$")
        t = t.with_columns(pl.when(good).then(pl.col("date")).str.to_date("%Y-%m-%d", strict=False).alias("day"))
    elif t.schema["date"] == pl.Date:
        t = t.with_columns(pl.col("date").alias("day"))
    else:
        raise fail(f"column 'date' must hold dates or YYYY-MM-DD strings, got type {t.schema['date']}")
    if t.schema["underlying"] != pl.String:
        raise fail(f"column 'underlying' must hold strings, got type {t.schema['underlying']}")
    if t.schema["close"] not in (pl.String, pl.Float64, pl.Float32) and not t.schema["close"].is_integer():
        raise fail(f"column 'close' must hold numbers, got type {t.schema['close']}")
    t = t.with_columns(pl.col("close").cast(pl.Float64, strict=False).alias("value"))
    bad = t.filter(pl.col("day").is_null())
    if bad.height:
        r = bad.row(0, named=True)
        raise fail(f"row {r['row']}, field date = {r['date']!r}: not a date (YYYY-MM-DD)")
    bad = t.filter(pl.col("underlying").is_null() | ~pl.col("underlying").is_in(list(names)))
    if bad.height:
        r = bad.row(0, named=True)
        raise fail(
            f"row {r['row']}, date {r['day']}, field underlying = {r['underlying']!r}: not an underlying of spots"
        )
    bad = t.filter(pl.col("value").is_null() | ~pl.col("value").is_finite() | (pl.col("value") <= 0))
    if bad.height:
        r = bad.row(0, named=True)
        raise fail(
            f"row {r['row']}, date {r['day']}, underlying {r['underlying']!r}, field close = {r['close']!r}: "
            "must be a finite number > 0"
        )
    dup = t.filter(pl.struct("day", "underlying").is_duplicated())
    if dup.height:
        r = dup.row(0, named=True)
        rows = dup.filter((pl.col("day") == r["day"]) & (pl.col("underlying") == r["underlying"]))["row"].to_list()
        raise fail(f"duplicate close for date {r['day']}, underlying {r['underlying']!r} (rows {rows})")
    out = {}
    for (name,), part in t.sort("day").group_by("underlying", maintain_order=True):
        out[name] = (part["day"].to_numpy().astype("datetime64[D]"), part["value"].to_numpy().astype(np.float64))
    return out


def write_formats(folder: Path, name: str, frame: Any, formats: Sequence[str]) -> dict[str, int]:
    """``write_table`` once per format: ``folder/name.parquet``, ``folder/name.csv``; returns ``{file name: rows}``.
    Same frame, same bytes (the runner's determinism test)."""
    return {write_table(frame, Path(folder) / f"{name}.{fmt}").name: frame.height for fmt in formats}
