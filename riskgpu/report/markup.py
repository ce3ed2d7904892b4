"""The report's markup helpers: the inline CSS, HTML escaping, number formats (``n/a`` for missing or NaN)
and small table/section builders. Every string from the run passes through ``esc``."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from riskgpu.report.plots import _finite

CSS = """
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


def esc(value: object) -> str:
    """``value`` as escaped HTML text; None as an empty string."""
    return "" if value is None else html.escape(str(value), quote=True)


def money(value: object, signed: bool = False) -> str:
    """``1,234.57``; "n/a" for None/NaN; negative in red when ``signed``."""
    if not _finite(value):
        return '<span class="muted">n/a</span>'
    v = float(value)
    text = f"{v:,.2f}"
    return f'<span class="neg">{text}</span>' if signed and v < 0 else text


def count(value: object) -> str:
    if not _finite(value):
        return '<span class="muted">n/a</span>'
    return f"{int(value):,}"


def level(value: object) -> str:
    """A confidence level as a percentage: 0.99 -> 99%, 0.975 -> 97.5%."""
    return f"{100.0 * float(value):.4g}%" if _finite(value) else '<span class="muted">n/a</span>'


def ratio(value: object) -> str:
    return f"{100.0 * float(value):.3f}%" if _finite(value) else '<span class="muted">n/a</span>'


def pvalue(value: object) -> str:
    if not _finite(value):
        return '<span class="muted">n/a</span>'
    v = float(value)
    return "&lt;0.001" if v < 0.001 else f"{v:.3f}"


def interval(ci: Sequence | None) -> str:
    if ci is None or len(ci) != 2:
        return '<span class="muted">&ndash;</span>'
    return f"{money(ci[0])} &ndash;<br>{money(ci[1])}"


def days(n: object) -> str:
    if not _finite(n):
        return '<span class="muted">n/a</span>'
    n = int(n)
    return f"{n:,} day" if n == 1 else f"{n:,} days"


def none(text: str) -> str:
    return f'<p class="none">{esc(text)}</p>'


def table(headers: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]], *, table_id: str | None = None) -> str:
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


def section(section_id: str, heading: str, *body: str) -> str:
    return "\n".join([f'<section id="{section_id}">', f"<h2>{heading}</h2>", *body, "</section>"])


# ------------------------------------------------------------------------------------------------ plots


def img(b64: str, alt: str) -> str:
    return f'<figure><img alt="{esc(alt)}" src="data:image/png;base64,{b64}"></figure>'
