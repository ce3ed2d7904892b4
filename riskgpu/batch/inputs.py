"""The run's inputs under its error policy: ``on_error="fail"`` stops at the first bad position,
``"skip"`` leaves bad rows out and lists each (file, row, position_id, field, value, reason)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from riskgpu.io.tables import TableError, read_table
from riskgpu.risk.portfolio import Portfolio, PortfolioError, _position, check_columns


@dataclass(frozen=True)
class Skipped:
    """One position left out of a run: the stage that refused it and why (the exceptions report's row)."""

    stage: str
    reason: str
    position_id: str | None = None
    row: int | None = None
    field: str | None = None
    value: str | None = None
    source: str | None = None

    @classmethod
    def from_error(cls, stage: str, exc: PortfolioError) -> Skipped:
        """From a ``PortfolioError`` (its row, position, field and value)."""
        value = repr(exc.value) if exc.has_value else None
        return cls(stage, exc.reason, exc.position_id, exc.row, exc.field, value, exc.source)

    def to_dict(self) -> dict:
        """Plain dict (a row of the exceptions table)."""
        return asdict(self)

    def event(self) -> dict:
        """The run log's fields for this skip."""
        return {"event": "skipped", **asdict(self)}


def read_portfolio(path: str | Path, market: object, *, on_error: str) -> tuple[Portfolio, list[Skipped]]:
    """The portfolio at ``path`` checked against ``market``.

    ``on_error="fail"``: ``Portfolio.read`` then ``check`` (the first problem raises). ``"skip"``: a file that
    cannot be read or lacks columns still raises; a row that does not parse, a duplicated ``position_id``
    (every row holding it), an unknown underlying or an expired date is skipped and reported. Raises when
    nothing is left. Tested with a file mixing good and bad rows.
    """
    source = str(path)
    if on_error == "fail":
        portfolio = Portfolio.read(path)
        portfolio.check(market)
        return portfolio, []
    try:
        df = read_table(path)
    except TableError as exc:
        raise PortfolioError(str(exc)) from exc
    check_columns(df, source)
    skipped: list[Skipped] = []
    parsed = []
    for row, record in enumerate(df.iter_rows(named=True), start=1):
        try:
            parsed.append(_position(record, row))
        except PortfolioError as exc:
            skipped.append(Skipped.from_error("read", exc.with_source(source)))
    counts = Counter(p.position_id for p in parsed)
    kept = []
    for p in parsed:
        if counts[p.position_id] > 1:
            rows = ", ".join(str(q.row) for q in parsed if q.position_id == p.position_id)
            skipped.append(Skipped("read", f"duplicate position_id (rows {rows})", p.position_id, p.row,
                                   "position_id", repr(p.position_id), source))  # fmt: skip
            continue
        try:
            Portfolio([p], source=source).check(market)
        except PortfolioError as exc:
            skipped.append(Skipped.from_error("market", exc))
            continue
        kept.append(p)
    if not kept:
        first = f"; the first: row {skipped[0].row}: {skipped[0].reason}" if skipped else ""
        raise PortfolioError(f"every position was skipped ({len(skipped)}){first}", source=source)
    skipped.sort(key=lambda s: (s.row or 0, s.stage))
    return Portfolio(kept, source=source), skipped
