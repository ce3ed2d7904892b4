"""The morning report of a nightly run: one self-contained HTML page.

Everything the page needs is inside it: inline CSS, plots as base64 PNG data URIs, no JavaScript and no
external URL, so it opens from a mail attachment or an archive years later. Every string of the context is
HTML-escaped. The plots are drawn with matplotlib's ``Figure`` and the Agg canvas (no pyplot, no global
backend switch) under matplotlib's default style, and saved without a ``Software`` tag, so the same context
gives the same bytes. Tested in ``tests/test_report.py`` (structure, escaping, PNGs, determinism, a
headless browser).
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from riskgpu.report.plots import (
    _backtest_plot,
    _finite,
    _pnl_plot,
    _stress_plot,
    _zscore_plot,
)

_CSS = """
:root { --fg: #1f2328; --muted: #59636e; --line: #d1d9e0; --bg-alt: #f6f8fa; --red: #b42318; --green: #1a7f37;
        --amber: #9a6700; }
* { box-sizing: border-box; }
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg); margin: 0;
       font-size: 14px; line-height: 1.45; background: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 24px; margin: 0 0 8px; }
h2 { font-size: 19px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
h4 { font-size: 14px; margin: 14px 0 6px; color: var(--muted); }
nav { margin: 10px 0 0; font-size: 13px; }
nav a { color: #0969da; text-decoration: none; margin-right: 14px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 12px 0; font-size: 13px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px;
              word-break: break-all; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13px; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--bg-alt); font-weight: 600; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fbfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.neg { color: var(--red); }
.muted { color: var(--muted); }
.none { color: var(--muted); font-style: italic; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 12px; font-size: 13px; font-weight: 600;
         color: #fff; vertical-align: middle; }
.badge.complete, .badge.green { background: var(--green); }
.badge.partial, .badge.red { background: var(--red); }
.badge.yellow { background: #d4a72c; color: #1f2328; }
.badge.unknown { background: var(--muted); }
.banner { border: 2px solid var(--red); background: #fff1f0; color: var(--red); padding: 10px 14px;
          border-radius: 6px; font-weight: 600; margin: 12px 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 10px 0; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 8px 14px; min-width: 150px; }
.card .label { color: var(--muted); font-size: 12px; }
.card .value { font-size: 18px; font-weight: 600; font-variant-numeric: tabular-nums; }
.run { border-left: 3px solid var(--line); padding-left: 14px; margin: 18px 0; }
.tables { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.wide { overflow-x: auto; }
#headline th { white-space: normal; vertical-align: bottom; }
#headline th, #headline td { padding: 4px 8px; }
figure { margin: 8px 0 12px; }
figure img { max-width: 100%; height: auto; display: block; }
ul.warnings li { margin: 3px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; }
"""


# ------------------------------------------------------------------------------------------------ public


def render_report(context: dict) -> str:
    """The report page of a run as one self-contained HTML string.

    Parameters
    ----------
    context : dict
        The run's figures as the nightly runner assembles them (``riskgpu.runner``): header fields, ``book``,
        ``var_runs``, ``stress``, ``positions``, ``backtest``, ``exceptions``, ``warnings``, ``timings``.

    Returns
    -------
    str
        The page: inline CSS, plots as base64 PNG data URIs, no JavaScript, no external URL. Every string of
        the context is HTML-escaped; NaN and missing numbers show as "n/a". The same context gives the same
        string.
    """
    title = _e(context["title"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{title}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<main>",
        _header(context),
        _headline(context["var_runs"]),
        _var_details(context["var_runs"]),
        _stress(context["stress"]),
        _stderr(context["positions"]),
        _backtest(context["backtest"]),
        _exceptions(context["exceptions"], context["status"]),
        _warnings(context["warnings"]),
        _timings(context["timings"]),
        f"<footer>riskgpu {_e(context['version'])} &middot; {title}</footer>",
        "</main>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(path: str | Path, context: dict) -> None:
    """Write ``render_report(context)`` to ``path`` as UTF-8.

    Parameters
    ----------
    path : str or Path
        The HTML file to write (replaced if it exists).
    context : dict
        As for ``render_report``.
    """
    Path(path).write_text(render_report(context), encoding="utf-8", newline="\n")


# ------------------------------------------------------------------------------------------------ formatting


def _e(value: object) -> str:
    """``value`` as escaped HTML text; None as an empty string."""
    return "" if value is None else html.escape(str(value), quote=True)


def _money(value: object, signed: bool = False) -> str:
    """``1,234.57``; "n/a" for None/NaN; negative in red when ``signed``."""
    if not _finite(value):
        return '<span class="muted">n/a</span>'
    v = float(value)
    text = f"{v:,.2f}"
    return f'<span class="neg">{text}</span>' if signed and v < 0 else text


def _count(value: object) -> str:
    if not _finite(value):
        return '<span class="muted">n/a</span>'
    return f"{int(value):,}"


def _level(value: object) -> str:
    """A confidence level as a percentage: 0.99 -> 99%, 0.975 -> 97.5%."""
    return f"{100.0 * float(value):.4g}%" if _finite(value) else '<span class="muted">n/a</span>'


def _ratio(value: object) -> str:
    return f"{100.0 * float(value):.3f}%" if _finite(value) else '<span class="muted">n/a</span>'


def _pvalue(value: object) -> str:
    if not _finite(value):
        return '<span class="muted">n/a</span>'
    v = float(value)
    return "&lt;0.001" if v < 0.001 else f"{v:.3f}"


def _interval(ci: Sequence | None) -> str:
    if ci is None or len(ci) != 2:
        return '<span class="muted">&ndash;</span>'
    return f"{_money(ci[0])} &ndash;<br>{_money(ci[1])}"


def _days(n: object) -> str:
    if not _finite(n):
        return '<span class="muted">n/a</span>'
    n = int(n)
    return f"{n:,} day" if n == 1 else f"{n:,} days"


def _none(text: str) -> str:
    return f'<p class="none">{_e(text)}</p>'


def _table(headers: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]], *, table_id: str | None = None) -> str:
    """A table from escaped header labels (label, numeric) and rows of cell HTML."""
    attr = f' id="{table_id}"' if table_id else ""
    head = "".join(f'<th class="num">{h}</th>' if num else f"<th>{h}</th>" for h, num in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{c}</td>' if num else f"<td>{c}</td>" for c, (_, num) in zip(row, headers, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _section(section_id: str, heading: str, *body: str) -> str:
    return "\n".join([f'<section id="{section_id}">', f"<h2>{heading}</h2>", *body, "</section>"])


# ------------------------------------------------------------------------------------------------ plots


def _img(b64: str, alt: str) -> str:
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{b64}"></figure>'


def _header(c: Mapping) -> str:
    status = str(c["status"])
    book = c["book"]
    skipped = int(book["skipped"]) if _finite(book["skipped"]) else 0
    if status == "partial":
        badge = f'<span class="badge partial">PARTIAL &middot; {skipped:,} skipped</span>'
        noun = "position was" if skipped == 1 else "positions were"
        banner = (
            f'<div class="banner">Partial run: {skipped:,} {noun} skipped (on_error = "skip"); every figure '
            'below leaves them out. See <a href="#exceptions">Exceptions</a>.</div>'
        )
    else:
        cls = "complete" if status == "complete" else "unknown"
        badge, banner = f'<span class="badge {cls}">{_e(status)}</span>', ""
    meta = [
        ("As of", _e(c["asof"])),
        ("Status", badge),
        ("Backend", _e(c["backend"])),
        ("Seed", _e(c["seed"])),
        ("Config", f"<code>{_e(c['config'])}</code>"),
        ("Config SHA-256", f"<code>{_e(c['config_sha256'])}</code>"),
        ("riskgpu", _e(c["version"])),
    ]
    cards = [
        ("Positions priced", _count(book["positions"])),
        ("Positions skipped", _count(book["skipped"])),
        ("Book value", _money(book["value"], signed=True)),
    ]
    for run in c["var_runs"][:4]:
        cards.append((f"VaR {_e(run['name'])}", _money(run["var"])))
    by_book = book["by_book"]
    books = (
        _table(
            [("Book", False), ("Positions", True), ("Value", True)],
            [[_e(b["book"]), _count(b["positions"]), _money(b["value"], signed=True)] for b in by_book],
        )
        if by_book
        else _none("no books")
    )
    nav = " ".join(
        f'<a href="#{i}">{t}</a>'
        for i, t in (
            ("headline", "VaR / ES"),
            ("var-runs", "P&amp;L distributions"),
            ("stress", "Stress"),
            ("stderr", "Standard errors"),
            ("backtest", "Backtest"),
            ("exceptions", "Exceptions"),
            ("warnings", "Warnings"),
            ("timings", "Timings"),
        )
    )
    return "\n".join(
        [
            '<header id="summary">',
            f"<h1>{_e(c['title'])} {badge}</h1>",
            banner,
            '<dl class="meta">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in meta) + "</dl>",
            '<div class="cards">'
            + "".join(
                f'<div class="card"><div class="label">{k}</div><div class="value">{v}</div></div>' for k, v in cards
            )
            + "</div>",
            "<h4>Book by book</h4>",
            books,
            f"<nav>{nav}</nav>",
            "</header>",
        ]
    )


def _headline(runs: Sequence[Mapping]) -> str:
    if not runs:
        return _section("headline-section", "Value at risk and expected shortfall", _none("VaR runs: none configured"))
    headers = [
        ("Run", False),
        ("Method", False),
        ("Horizon", True),
        ("VaR conf.", True),
        ("VaR", True),
        ("VaR 95% CI", True),
        ("ES conf.", True),
        ("ES", True),
        ("ES 95% CI", True),
        ("Stressed VaR", True),
        ("Stressed ES", True),
        ("Stressed window", False),
        ("Scenarios", True),
    ]
    dash = '<span class="muted">&ndash;</span>'
    rows = []
    for r in runs:
        st = r["stressed"]
        method = _e(r["method"]) + (
            f'<br><span class="muted">{_e(r["revaluation"])}</span>' if r["revaluation"] else ""
        )
        rows.append(
            [
                f'<a href="#var-{len(rows)}">{_e(r["name"])}</a>',
                method,
                _days(r["horizon_days"]),
                _level(r["confidence"]),
                f"<strong>{_money(r['var'])}</strong>",
                _interval(r["var_ci"]),
                _level(r["es_confidence"]),
                f"<strong>{_money(r['es'])}</strong>",
                _interval(r["es_ci"]),
                _money(st["var"]) if st else dash,
                _money(st["es"]) if st else dash,
                f"{_e(st['start'])} &ndash;<br>{_e(st['end'])}" if st else dash,
                _count(r["n_scenarios"]),
            ]
        )
    note = (
        '<p class="muted">VaR and ES are positive losses of the whole book over the horizon; ES is at its own '
        "confidence level.</p>"
    )
    return _section(
        "headline-section",
        "Value at risk and expected shortfall",
        f'<div class="wide">{_table(headers, rows, table_id="headline")}</div>',
        note,
    )


def _var_details(runs: Sequence[Mapping]) -> str:
    if not runs:
        return _section("var-runs", "P&amp;L distributions and contributors", _none("VaR runs: none configured"))
    blocks = []
    for i, r in enumerate(runs):
        plot = _pnl_plot(r)
        if plot is None:
            figure = _none(f"no scenario P&L to plot ({r['method']} runs have no scenarios)")
        else:
            figure = _img(plot, f"P&L distribution of {r['name']} with -VaR and -ES")
        var = float(r["var"]) if _finite(r["var"]) and float(r["var"]) != 0.0 else math.nan

        def share(x: object, var: float = var) -> str:
            ok = _finite(x) and math.isfinite(var)
            return f"{100.0 * float(x) / var:.1f}%" if ok else '<span class="muted">n/a</span>'

        top = r["top_contributors"]
        top_table = (
            _table(
                [
                    ("Position", False),
                    ("Book", False),
                    ("Underlying", False),
                    ("Component VaR", True),
                    ("Share of VaR", True),
                    ("Component ES", True),
                ],
                [
                    [
                        _e(t["position_id"]),
                        _e(t["book"] if t["book"] is not None else "(none)"),
                        _e(t["underlying"]),
                        _money(t["component_var"], signed=True),
                        share(t["component_var"]),
                        _money(t["component_es"], signed=True),
                    ]
                    for t in top
                ],
            )
            if top
            else _none("no contributions")
        )
        by_book = r["by_book"]
        book_table = (
            _table(
                [("Book", False), ("Component VaR", True), ("Share of VaR", True), ("Component ES", True)],
                [
                    [
                        _e(b["book"] if b["book"] is not None else "(none)"),
                        _money(b["component_var"], signed=True),
                        share(b["component_var"]),
                        _money(b["component_es"], signed=True),
                    ]
                    for b in by_book
                ],
            )
            if by_book
            else _none("no contributions")
        )
        blocks.append(
            "\n".join(
                [
                    f'<div class="run" id="var-{i}">',
                    f'<h3>{_e(r["name"])} <span class="muted">&middot; {_e(r["method"])} &middot; '
                    f"VaR {_level(r['confidence'])} = {_money(r['var'])} &middot; "
                    f"ES {_level(r['es_confidence'])} = {_money(r['es'])}</span></h3>",
                    figure,
                    '<div class="tables">',
                    f"<div><h4>Top {len(top)} contributors (component VaR)</h4>{top_table}</div>",
                    f"<div><h4>By book</h4>{book_table}</div>",
                    "</div>",
                    "</div>",
                ]
            )
        )
    return _section("var-runs", "P&amp;L distributions and contributors", *blocks)


def _stress(stress: Sequence[Mapping]) -> str:
    if not stress:
        return _section("stress", "Stress scenarios", _none("stress scenarios: none configured"))
    books = sorted({str(b) for s in stress for b in s["by_book"]})
    headers = [("Scenario", False), ("Total P&amp;L", True), *((_e(b), True) for b in books)]
    rows = [
        [
            _e(s["scenario"]),
            f"<strong>{_money(s['pnl'], signed=True)}</strong>",
            *(
                _money(s["by_book"][b], signed=True) if b in s["by_book"] else '<span class="muted">&ndash;</span>'
                for b in books
            ),
        ]
        for s in stress
    ]
    plot = _img(_stress_plot(stress), "P&L of the book under each stress scenario")
    return _section("stress", "Stress scenarios", _table(headers, rows, table_id="stress-table"), plot)


def _stderr(positions: Mapping) -> str:
    ids = list(positions["position_id"])
    instrument = [str(x) for x in positions["instrument"]]
    price = np.asarray(positions["price"], dtype=float).ravel()
    stderr = np.asarray(positions["stderr"], dtype=float).ravel()
    closed = np.asarray(positions["closed_form"], dtype=float).ravel()
    if not (len(ids) == len(instrument) == price.size == stderr.size == closed.size):
        raise ValueError("render_report: the positions' columns have different lengths")
    mc = np.isfinite(stderr) & (stderr > 0.0) & np.isfinite(price)
    title = "Monte Carlo standard errors"
    if not mc.any():
        return _section("stderr", title, _none("no position with a Monte Carlo standard error > 0"))
    names = sorted({instrument[k] for k in np.flatnonzero(mc)})
    z = (price - closed) / np.where(mc, stderr, 1.0)
    zok = mc & np.isfinite(z)
    z_by = {n: z[zok & (np.array(instrument) == n)] for n in names}
    z_by = {n: v for n, v in z_by.items() if v.size}
    rows = []
    for n in names:
        sel = mc & (np.array(instrument) == n)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = stderr[sel] / np.abs(price[sel])
        rel = rel[np.isfinite(rel)]
        zn = z_by.get(n, np.zeros(0))
        rows.append(
            [
                _e(n),
                _count(int(sel.sum())),
                _ratio(np.median(rel)) if rel.size else _ratio(None),
                _ratio(np.max(rel)) if rel.size else _ratio(None),
                _count(int(np.sum(np.abs(zn) > 3.0))),
                f"{np.max(np.abs(zn)):.2f}" if zn.size else '<span class="muted">n/a</span>',
            ]
        )
    table = _table(
        [
            ("Instrument", False),
            ("Positions", True),
            ("Median stderr / |price|", True),
            ("Max stderr / |price|", True),
            ("|z| &gt; 3", True),
            ("Max |z|", True),
        ],
        rows,
    )
    worst = np.flatnonzero(zok & (np.abs(np.where(zok, z, 0.0)) > 3.0))
    worst = worst[np.argsort(-np.abs(z[worst]), kind="stable")][:10]
    outliers = (
        "<h4>Largest |z| beyond 3</h4>"
        + _table(
            [
                ("Position", False),
                ("Instrument", False),
                ("Price", True),
                ("Closed form", True),
                ("Stderr", True),
                ("z", True),
            ],
            [
                [_e(ids[k]), _e(instrument[k]), _money(price[k]), _money(closed[k]), f"{stderr[k]:,.4f}", f"{z[k]:.2f}"]
                for k in worst
            ],
        )
        if worst.size
        else ""
    )
    note = (
        '<p class="muted">Per-unit prices of the positions with a Monte Carlo standard error &gt; 0. The closed '
        "form is exact for Europeans and an approximation for other payoffs, so |z| &gt; 3 there may be the "
        "approximation's error rather than the simulation's.</p>"
    )
    figure = (
        _img(_zscore_plot(list(z_by), z_by), "z-scores of Monte Carlo prices against the closed form by instrument")
        if z_by
        else _none("no closed form to compare with")
    )
    return _section("stderr", title, note, figure, table, outliers)


def _backtest(bt: Mapping | None) -> str:
    title = "Backtest"
    if bt is None:
        return _section("backtest", title, _none("backtest: none configured"))
    light = str(bt["traffic_light"])
    cls = light if light in ("green", "yellow", "red") else "unknown"
    obs, conf = bt["observations"], bt["confidence"]
    expected = bt.get("expected")
    if not _finite(expected) and _finite(obs) and _finite(conf):
        expected = float(obs) * (1.0 - float(conf))
    facts = [
        ("Method", _e(bt["method"])),
        ("Window", _days(bt["window_days"])),
        ("Confidence", _level(conf)),
        ("Observations", _count(obs)),
        (
            "Exceptions",
            f"{_count(bt['exceptions'])} (expected {f'{float(expected):.1f}' if _finite(expected) else 'n/a'})",
        ),
        ("Kupiec p-value", _pvalue(bt["kupiec_p"])),
        ("Christoffersen p-value", _pvalue(bt["christoffersen_p"])),
        ("Traffic light", f'<span class="badge {cls}">{_e(light)}</span>'),
    ]
    table = _table([("Measure", False), ("Value", True)], [[k, v] for k, v in facts], table_id="backtest-table")
    dates = np.array([str(d) for d in bt["dates"]], dtype="datetime64[D]")
    var = np.asarray(bt["var"], dtype=float).ravel()
    pnl = np.asarray(bt["pnl"], dtype=float).ravel()
    if dates.size and dates.size == var.size == pnl.size:
        figure = _img(_backtest_plot(dates, var, pnl, conf), "Backtest: daily P&L against -VaR with exceptions")
    else:
        figure = _none("no backtest days to plot")
    return _section("backtest", title, table, figure)


def _exceptions(rows: Sequence[Mapping], status: str) -> str:
    title = "Exceptions (skipped positions)"
    if not rows:
        return _section(
            "exceptions", title, _none("none: every position was priced" if status == "complete" else "none")
        )
    headers = [
        ("Stage", False),
        ("Position", False),
        ("Row", True),
        ("Field", False),
        ("Value", False),
        ("Reason", False),
    ]
    body = [
        [
            _e(r.get("stage")),
            _e(r.get("position_id")),
            _e(r.get("row")),
            _e(r.get("field")),
            f"<code>{_e(r.get('value'))}</code>" if r.get("value") is not None else "",
            _e(r.get("reason")),
        ]
        for r in rows
    ]
    return _section("exceptions", title, _table(headers, body, table_id="exceptions-table"))


def _warnings(items: Sequence[str]) -> str:
    if not items:
        return _section("warnings", "Warnings", _none("none"))
    return _section(
        "warnings", "Warnings", '<ul class="warnings">' + "".join(f"<li>{_e(w)}</li>" for w in items) + "</ul>"
    )


def _timings(timings: Mapping[str, float]) -> str:
    if not timings:
        return _section("timings", "Timings", _none("none recorded"))
    rows = [[_e(k), f"{float(v):,.3f}" if _finite(v) else '<span class="muted">n/a</span>'] for k, v in timings.items()]
    return _section("timings", "Timings", _table([("Stage", False), ("Seconds", True)], rows, table_id="timings-table"))
