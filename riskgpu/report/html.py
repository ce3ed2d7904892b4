"""The morning report of a nightly run: one self-contained HTML page.

Everything the page needs is inside it: inline CSS, plots as base64 PNG data URIs, no JavaScript and no
external URL, so it opens from a mail attachment or an archive years later. Every string of the context is
HTML-escaped. The plots are drawn with matplotlib's ``Figure`` and the Agg canvas (no pyplot, no global
backend switch) under matplotlib's default style, and saved without a ``Software`` tag, so the same context
gives the same bytes. Tested in ``tests/test_report.py`` (structure, escaping, PNGs, determinism, a
headless browser).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from riskgpu.report import markup as fmt
from riskgpu.report.plots import (
    _backtest_plot,
    _finite,
    _pnl_plot,
    _stress_plot,
    _zscore_plot,
)


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
    title = fmt.esc(context["title"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{title}</title>",
        f"<style>{fmt.CSS}</style>",
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
        f"<footer>riskgpu {fmt.esc(context['version'])} &middot; {title}</footer>",
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
        badge, banner = f'<span class="badge {cls}">{fmt.esc(status)}</span>', ""
    meta = [
        ("As of", fmt.esc(c["asof"])),
        ("Status", badge),
        ("Backend", fmt.esc(c["backend"])),
        ("Seed", fmt.esc(c["seed"])),
        ("Config", f"<code>{fmt.esc(c['config'])}</code>"),
        ("Config SHA-256", f"<code>{fmt.esc(c['config_sha256'])}</code>"),
        ("riskgpu", fmt.esc(c["version"])),
    ]
    cards = [
        ("Positions priced", fmt.count(book["positions"])),
        ("Positions skipped", fmt.count(book["skipped"])),
        ("Book value", fmt.money(book["value"], signed=True)),
    ]
    for run in c["var_runs"][:4]:
        cards.append((f"VaR {fmt.esc(run['name'])}", fmt.money(run["var"])))
    by_book = book["by_book"]
    books = (
        fmt.table(
            [("Book", False), ("Positions", True), ("Value", True)],
            [[fmt.esc(b["book"]), fmt.count(b["positions"]), fmt.money(b["value"], signed=True)] for b in by_book],
        )
        if by_book
        else fmt.none("no books")
    )
    nav = " ".join(
        f'<a href="#{i}">{t}</a>'
        for i, t in (
            ("headline-section", "VaR / ES"),
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
            f"<h1>{fmt.esc(c['title'])} {badge}</h1>",
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
        return fmt.section(
            "headline-section", "Value at risk and expected shortfall", fmt.none("VaR runs: none configured")
        )
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
        method = fmt.esc(r["method"]) + (
            f'<br><span class="muted">{fmt.esc(r["revaluation"])}</span>' if r["revaluation"] else ""
        )
        rows.append(
            [
                f'<a href="#var-{len(rows)}">{fmt.esc(r["name"])}</a>',
                method,
                fmt.days(r["horizon_days"]),
                fmt.level(r["confidence"]),
                f"<strong>{fmt.money(r['var'])}</strong>",
                fmt.interval(r["var_ci"]),
                fmt.level(r["es_confidence"]),
                f"<strong>{fmt.money(r['es'])}</strong>",
                fmt.interval(r["es_ci"]),
                fmt.money(st["var"]) if st else dash,
                fmt.money(st["es"]) if st else dash,
                f"{fmt.esc(st['start'])} &ndash;<br>{fmt.esc(st['end'])}" if st else dash,
                fmt.count(r["n_scenarios"]),
            ]
        )
    note = (
        '<p class="muted">VaR and ES are positive losses of the whole book over the horizon; ES is at its own '
        "confidence level.</p>"
    )
    return fmt.section(
        "headline-section",
        "Value at risk and expected shortfall",
        f'<div class="wide">{fmt.table(headers, rows, table_id="headline")}</div>',
        note,
    )


def _var_details(runs: Sequence[Mapping]) -> str:
    if not runs:
        return fmt.section("var-runs", "P&amp;L distributions and contributors", fmt.none("VaR runs: none configured"))
    blocks = []
    for i, r in enumerate(runs):
        plot = _pnl_plot(r)
        if plot is None:
            figure = fmt.none(f"no scenario P&L to plot ({r['method']} runs have no scenarios)")
        else:
            figure = fmt.img(plot, f"P&L distribution of {r['name']} with -VaR and -ES")
        var = float(r["var"]) if _finite(r["var"]) and float(r["var"]) != 0.0 else math.nan

        def share(x: object, var: float = var) -> str:
            ok = _finite(x) and math.isfinite(var)
            return f"{100.0 * float(x) / var:.1f}%" if ok else '<span class="muted">n/a</span>'

        top = r["top_contributors"]
        top_table = (
            fmt.table(
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
                        fmt.esc(t["position_id"]),
                        fmt.esc(t["book"] if t["book"] is not None else "(none)"),
                        fmt.esc(t["underlying"]),
                        fmt.money(t["component_var"], signed=True),
                        share(t["component_var"]),
                        fmt.money(t["component_es"], signed=True),
                    ]
                    for t in top
                ],
            )
            if top
            else fmt.none("no contributions")
        )
        by_book = r["by_book"]
        book_table = (
            fmt.table(
                [("Book", False), ("Component VaR", True), ("Share of VaR", True), ("Component ES", True)],
                [
                    [
                        fmt.esc(b["book"] if b["book"] is not None else "(none)"),
                        fmt.money(b["component_var"], signed=True),
                        share(b["component_var"]),
                        fmt.money(b["component_es"], signed=True),
                    ]
                    for b in by_book
                ],
            )
            if by_book
            else fmt.none("no contributions")
        )
        blocks.append(
            "\n".join(
                [
                    f'<div class="run" id="var-{i}">',
                    f'<h3>{fmt.esc(r["name"])} <span class="muted">&middot; {fmt.esc(r["method"])} &middot; '
                    f"VaR {fmt.level(r['confidence'])} = {fmt.money(r['var'])} &middot; "
                    f"ES {fmt.level(r['es_confidence'])} = {fmt.money(r['es'])}</span></h3>",
                    figure,
                    '<div class="tables">',
                    f"<div><h4>Top {len(top)} contributors (component VaR)</h4>{top_table}</div>",
                    f"<div><h4>By book</h4>{book_table}</div>",
                    "</div>",
                    "</div>",
                ]
            )
        )
    return fmt.section("var-runs", "P&amp;L distributions and contributors", *blocks)


def _stress(stress: Sequence[Mapping]) -> str:
    if not stress:
        return fmt.section("stress", "Stress scenarios", fmt.none("stress scenarios: none configured"))
    books = sorted({str(b) for s in stress for b in s["by_book"]})
    headers = [("Scenario", False), ("Total P&amp;L", True), *((fmt.esc(b), True) for b in books)]
    rows = [
        [
            fmt.esc(s["scenario"]),
            f"<strong>{fmt.money(s['pnl'], signed=True)}</strong>",
            *(
                fmt.money(s["by_book"][b], signed=True) if b in s["by_book"] else '<span class="muted">&ndash;</span>'
                for b in books
            ),
        ]
        for s in stress
    ]
    plot = fmt.img(_stress_plot(stress), "P&L of the book under each stress scenario")
    return fmt.section("stress", "Stress scenarios", fmt.table(headers, rows, table_id="stress-table"), plot)


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
        return fmt.section("stderr", title, fmt.none("no position with a Monte Carlo standard error > 0"))
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
                fmt.esc(n),
                fmt.count(int(sel.sum())),
                fmt.ratio(np.median(rel)) if rel.size else fmt.ratio(None),
                fmt.ratio(np.max(rel)) if rel.size else fmt.ratio(None),
                fmt.count(int(np.sum(np.abs(zn) > 3.0))),
                f"{np.max(np.abs(zn)):.2f}" if zn.size else '<span class="muted">n/a</span>',
            ]
        )
    table = fmt.table(
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
        + fmt.table(
            [
                ("Position", False),
                ("Instrument", False),
                ("Price", True),
                ("Closed form", True),
                ("Stderr", True),
                ("z", True),
            ],
            [
                [
                    fmt.esc(ids[k]),
                    fmt.esc(instrument[k]),
                    fmt.money(price[k]),
                    fmt.money(closed[k]),
                    f"{stderr[k]:,.4f}",
                    f"{z[k]:.2f}",
                ]
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
        fmt.img(_zscore_plot(list(z_by), z_by), "z-scores of Monte Carlo prices against the closed form by instrument")
        if z_by
        else fmt.none("no closed form to compare with")
    )
    return fmt.section("stderr", title, note, figure, table, outliers)


def _backtest(bt: Mapping | None) -> str:
    title = "Backtest"
    if bt is None:
        return fmt.section("backtest", title, fmt.none("backtest: none configured"))
    light = str(bt["traffic_light"])
    cls = light if light in ("green", "yellow", "red") else "unknown"
    obs, conf = bt["observations"], bt["confidence"]
    expected = bt.get("expected")
    if not _finite(expected) and _finite(obs) and _finite(conf):
        expected = float(obs) * (1.0 - float(conf))
    facts = [
        ("Method", fmt.esc(bt["method"])),
        ("Window", fmt.days(bt["window_days"])),
        ("Confidence", fmt.level(conf)),
        ("Observations", fmt.count(obs)),
        (
            "Exceptions",
            f"{fmt.count(bt['exceptions'])} (expected {f'{float(expected):.1f}' if _finite(expected) else 'n/a'})",
        ),
        ("Kupiec p-value", fmt.pvalue(bt["kupiec_p"])),
        ("Christoffersen p-value", fmt.pvalue(bt["christoffersen_p"])),
        ("Traffic light", f'<span class="badge {cls}">{fmt.esc(light)}</span>'),
    ]
    table = fmt.table([("Measure", False), ("Value", True)], [[k, v] for k, v in facts], table_id="backtest-table")
    dates = np.array([str(d) for d in bt["dates"]], dtype="datetime64[D]")
    var = np.asarray(bt["var"], dtype=float).ravel()
    pnl = np.asarray(bt["pnl"], dtype=float).ravel()
    if dates.size and dates.size == var.size == pnl.size:
        figure = fmt.img(_backtest_plot(dates, var, pnl, conf), "Backtest: daily P&L against -VaR with exceptions")
    else:
        figure = fmt.none("no backtest days to plot")
    return fmt.section("backtest", title, table, figure)


def _exceptions(rows: Sequence[Mapping], status: str) -> str:
    title = "Exceptions (skipped positions)"
    if not rows:
        return fmt.section(
            "exceptions", title, fmt.none("none: every position was priced" if status == "complete" else "none")
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
            fmt.esc(r.get("stage")),
            fmt.esc(r.get("position_id")),
            fmt.esc(r.get("row")),
            fmt.esc(r.get("field")),
            f"<code>{fmt.esc(r.get('value'))}</code>" if r.get("value") is not None else "",
            fmt.esc(r.get("reason")),
        ]
        for r in rows
    ]
    return fmt.section("exceptions", title, fmt.table(headers, body, table_id="exceptions-table"))


def _warnings(items: Sequence[str]) -> str:
    if not items:
        return fmt.section("warnings", "Warnings", fmt.none("none"))
    return fmt.section(
        "warnings", "Warnings", '<ul class="warnings">' + "".join(f"<li>{fmt.esc(w)}</li>" for w in items) + "</ul>"
    )


def _timings(timings: Mapping[str, float]) -> str:
    if not timings:
        return fmt.section("timings", "Timings", fmt.none("none recorded"))
    rows = [
        [fmt.esc(k), f"{float(v):,.3f}" if _finite(v) else '<span class="muted">n/a</span>'] for k, v in timings.items()
    ]
    return fmt.section(
        "timings", "Timings", fmt.table([("Stage", False), ("Seconds", True)], rows, table_id="timings-table")
    )
