"""The report's plots: matplotlib ``Figure`` + the Agg canvas (no pyplot, no global backend switch) under
matplotlib's default style, saved as PNG without a ``Software`` tag and returned base64-encoded, so the same
data gives the same bytes. matplotlib is imported inside the functions."""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

#: Figure size (inches) and resolution of the plots: 700 x 350 pixels, light enough for a mail.
FIGSIZE = (7.0, 3.5)
DPI = 100

_BLUE, _RED, _DARK_RED, _GREEN, _GREY = "#4c72b0", "#d62728", "#8c1d1d", "#2ca02c", "#7f7f7f"


def _finite(value: object) -> bool:
    try:
        return value is not None and math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _plain_money(value: float) -> str:
    """Money for plot labels (no HTML)."""
    return f"{value:,.2f}" if math.isfinite(value) else "n/a"


def _plain_level(value: object) -> str:
    """A confidence level for plot labels (no HTML)."""
    return f"{100.0 * float(value):.4g}%" if _finite(value) else "n/a"


def _plain_days(n: object) -> str:
    """A horizon for plot labels (no HTML)."""
    return "n/a" if not _finite(n) else f"{int(n):,} day" if int(n) == 1 else f"{int(n):,} days"


def _mpl(text: object) -> str:
    """A context string for a plot label: ``$`` escaped so matplotlib does not read it as mathtext."""
    return str(text).replace("$", r"\$")


def _render_png(draw: Callable[[object], None], figsize: tuple[float, float] = FIGSIZE) -> str:
    """Draw on a fresh Agg figure under matplotlib's default style; the PNG as base64 text.

    pyplot is never imported and the style is restored on exit, so the caller's matplotlib state is as
    it was; without the ``Software`` tag the PNG bytes depend only on what was drawn.
    """
    import matplotlib.style
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    rc = {
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
    }
    with matplotlib.style.context(["default", rc]):
        fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        draw(fig)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _thousands(ax: object, axis: str = "y") -> None:
    from matplotlib.ticker import StrMethodFormatter

    getattr(ax, f"{axis}axis").set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _pnl_plot(run: Mapping) -> str | None:
    """Histogram of a run's scenario P&L with -VaR and -ES marked; None without finite scenarios."""
    pnl = np.asarray(run["pnl"], dtype=float).ravel()
    pnl = pnl[np.isfinite(pnl)]
    if pnl.size == 0:
        return None
    var, es = (
        float(run["var"]) if _finite(run["var"]) else math.nan,
        float(run["es"]) if _finite(run["es"]) else math.nan,
    )

    def draw(fig: object) -> None:
        ax = fig.subplots()
        bins = int(min(80, max(20, math.sqrt(pnl.size))))
        ax.hist(pnl, bins=bins, histtype="stepfilled", color=_BLUE, alpha=0.75, label=f"scenario P&L (n={pnl.size:,})")
        if math.isfinite(var):
            ax.axvline(
                -var, color=_RED, lw=1.6, label=f"\u2212VaR {_plain_level(run['confidence'])}: {_plain_money(-var)}"
            )
        if math.isfinite(es):
            ax.axvline(
                -es,
                color=_DARK_RED,
                lw=1.6,
                ls="--",
                label=f"\u2212ES {_plain_level(run['es_confidence'])}: {_plain_money(-es)}",
            )
        top = ax.get_ylim()[1]
        for x, text, color in ((-var, "VaR", _RED), (-es, "ES", _DARK_RED)):
            if math.isfinite(x):
                ax.text(
                    x,
                    top * 0.97,
                    f" {text}",
                    color=color,
                    fontsize=8,
                    va="top",
                    ha="left" if text == "VaR" else "right",
                )
        ax.set_title(
            f"{_mpl(run['name'])}: P&L distribution ({_mpl(run['method'])}, {_plain_days(run['horizon_days'])})"
        )
        ax.set_xlabel("P&L")
        ax.set_ylabel("scenarios")
        _thousands(ax, "x")
        ax.legend(loc="upper right", frameon=False)

    return _render_png(draw)


def _stress_plot(stress: Sequence[Mapping]) -> str:
    names = [_mpl(s["scenario"]) for s in stress]
    values = np.array([float(s["pnl"]) if _finite(s["pnl"]) else 0.0 for s in stress])
    height = min(8.0, max(FIGSIZE[1] * 0.6, 1.0 + 0.4 * len(names)))

    def draw(fig: object) -> None:
        ax = fig.subplots()
        y = np.arange(len(names))
        colors = [_RED if v < 0 else _GREEN for v in values]
        bars = ax.barh(y, values, color=colors, height=0.6)
        ax.set_yticks(y, labels=names)
        ax.invert_yaxis()
        ax.axvline(0.0, color=_GREY, lw=0.8)
        labels = [_plain_money(float(s["pnl"])) if _finite(s["pnl"]) else "n/a" for s in stress]
        ax.bar_label(bars, labels=labels, padding=3, fontsize=8)
        ax.margins(x=0.25)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("P&L of the book")
        ax.set_title("Stress scenarios: P&L of the whole book")
        _thousands(ax, "x")

    return _render_png(draw, (FIGSIZE[0], height))


def _zscore_plot(instruments: list[str], z_by: dict[str, np.ndarray]) -> str:
    def draw(fig: object) -> None:
        ax = fig.subplots()
        big = max(float(np.max(np.abs(z))) for z in z_by.values())
        lim = max(4.0, 1.1 * big)
        ax.axhspan(-3.0, 3.0, color=_GREEN, alpha=0.08, lw=0, label="\u00b13 standard errors")
        for y in (-3.0, 3.0):
            ax.axhline(y, color=_GREEN, lw=1.0, ls="--")
        ax.axhline(0.0, color=_GREY, lw=0.8)
        golden = (math.sqrt(5.0) - 1.0) / 2.0
        for i, name in enumerate(instruments):
            z = z_by[name]
            x = i + 0.6 * (((np.arange(z.size) * golden) % 1.0) - 0.5)  # a deterministic jitter
            out = np.abs(z) > 3.0
            ax.scatter(x[~out], z[~out], s=12, color=_BLUE, alpha=0.7, lw=0)
            if out.any():
                ax.scatter(x[out], z[out], s=18, color=_RED, lw=0)
        ax.set_xticks(
            range(len(instruments)),
            labels=[f"{_mpl(n)}\n(n={z_by[n].size})" for n in instruments],
            rotation=30 if len(instruments) > 6 else 0,
        )
        ax.set_xlim(-0.6, len(instruments) - 0.4)
        ax.set_ylim(-lim, lim)
        ax.grid(axis="x", visible=False)
        ax.set_ylabel("(price \u2212 closed form) / stderr")
        ax.set_title("Monte Carlo price against the closed form / approximation, in standard errors")
        ax.legend(loc="upper right", frameon=False)

    return _render_png(draw)


def _backtest_plot(dates: np.ndarray, var: np.ndarray, pnl: np.ndarray, confidence: object) -> str:
    def draw(fig: object) -> None:
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        ax = fig.subplots()
        ax.plot(dates, pnl, color=_BLUE, lw=0.7, alpha=0.85, label="P&L")
        ax.plot(dates, -var, color=_RED, lw=1.3, label=f"\u2212VaR {_plain_level(confidence)}")
        hit = np.isfinite(pnl) & np.isfinite(var) & (pnl < -var)
        ax.scatter(dates[hit], pnl[hit], s=22, color=_RED, marker="o", zorder=3, label=f"exceptions ({int(hit.sum())})")
        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        _thousands(ax, "y")
        ax.set_ylabel("P&L")
        ax.set_title("Backtest: daily P&L against the VaR forecast")
        fig.legend(loc="outside lower center", frameon=False, ncols=3)

    return _render_png(draw)
