"""The HTML morning report (``riskgpu.report``): every section, the headline figures, the embedded PNGs
(decoded chunk by chunk), self-containedness, escaping, partial runs, empty and NaN inputs, byte-identical
output (also from a fresh interpreter with another hash seed), matplotlib's global state, and the page in a
headless Chromium.

The context is the runner's shape: one real historical VaR run of the demo book (``rg.var``), a synthetic
Monte Carlo run with confidence intervals and a stressed window, a parametric run without scenarios, and
synthetic stress, positions and backtest data.
"""

from __future__ import annotations

import copy
import os
import pickle
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from browser import check_report_in_browser

import riskgpu as rg
from riskgpu.report import plots, render_report, write_report

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
XSS = "<script>alert(1)</script>"
XSS_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SECTIONS = ("summary", "headline-section", "var-runs", "stress", "stderr", "backtest", "exceptions", "warnings",
            "timings")  # fmt: skip
#: Plots of the full context: two VaR runs with scenarios (not the parametric one), stress, stderr, backtest.
N_PLOTS = 5
IMG = re.compile(r'<img alt="([^"]*)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">')


def _var_run_from_demo() -> dict:
    market = rg.Market.read(DEMO / "market")
    portfolio = rg.Portfolio.read(DEMO / "portfolio.csv")
    r = rg.var(portfolio, market, method="historical", es_confidence=0.975)
    s = r.summary()
    top = r.contributions("position").sort(pl.col("component_var").abs(), descending=True, maintain_order=True)
    return {
        "name": "historical_99", "method": r.method, "confidence": r.confidence, "es_confidence": r.es_confidence,
        "horizon_days": r.horizon_days, "var": r.var, "es": r.es, "var_ci": s["var_ci"], "es_ci": s["es_ci"],
        "n_scenarios": r.n_scenarios, "revaluation": r.revaluation, "stressed": None, "pnl": r.pnl,
        "top_contributors": top.head(10).select("position_id", "book", "underlying", "component_var",
                                                "component_es").to_dicts(),
        "by_book": r.contributions("book").select("book", "component_var", "component_es").to_dicts(),
    }  # fmt: skip


def _synthetic_mc_run(rng: np.random.Generator) -> dict:
    pnl = 20_000.0 * rng.standard_t(5, 4000)
    var = float(-np.quantile(pnl, 0.01))
    es = float(-pnl[pnl <= -var].mean())
    return {
        "name": "monte_carlo_99_10d", "method": "monte_carlo", "confidence": 0.99, "es_confidence": 0.99,
        "horizon_days": 10, "var": var, "es": es, "var_ci": (0.95 * var, 1.05 * var), "es_ci": [0.94 * es, 1.06 * es],
        "n_scenarios": pnl.size, "revaluation": "full",
        "stressed": {"var": 1.5 * var, "es": 1.6 * es, "start": "2024-03-01", "end": "2024-09-30"}, "pnl": pnl,
        "top_contributors": [
            {"position_id": XSS, "book": None, "underlying": "ECHO", "component_var": 0.6 * var,
             "component_es": 0.5 * es},
            {"position_id": "P0002", "book": "vol", "underlying": "ALPHA", "component_var": -0.1 * var,
             "component_es": 0.2 * es},
        ],
        "by_book": [{"book": "delta_one", "component_var": 0.9 * var, "component_es": 0.8 * es},
                    {"book": "vol", "component_var": 0.1 * var, "component_es": 0.2 * es}],
    }  # fmt: skip


def _parametric_run() -> dict:
    return {
        "name": "parametric_delta_gamma_99", "method": "parametric", "confidence": 0.99, "es_confidence": 0.99,
        "horizon_days": 1, "var": 61_854.918, "es": 70_848.3377, "var_ci": None, "es_ci": None, "n_scenarios": 0,
        "revaluation": None, "stressed": None, "pnl": np.zeros(0),
        "top_contributors": [{"position_id": "P0031", "book": "delta_one", "underlying": "BRAVO",
                              "component_var": 20_231.13, "component_es": 23_162.4}],
        "by_book": [{"book": "delta_one", "component_var": 60_378.89, "component_es": 69_164.27}],
    }  # fmt: skip


def _positions(rng: np.random.Generator) -> dict:
    kinds = ["spot", "european", "asian", "barrier", "american"]
    n = 60
    instrument = [kinds[i % len(kinds)] for i in range(n)]
    price = rng.uniform(1.0, 50.0, n)
    stderr = np.where(np.array(instrument) == "spot", 0.0, 0.01 * price)
    z = rng.standard_normal(n)
    ids = [f"P{i:04d}" for i in range(1, n + 1)]
    ids[6], z[6] = XSS, 5.0  # a european 5 standard errors off: listed among the outliers
    return {"position_id": ids, "instrument": instrument, "price": price, "stderr": stderr,
            "closed_form": price - z * stderr}  # fmt: skip


def _backtest(rng: np.random.Generator) -> dict:
    dates = np.busday_offset(np.datetime64("2026-05-01"), np.arange(120), roll="forward")
    var = 50_000.0 + 5_000.0 * np.sin(np.arange(120) / 20.0)
    pnl = rng.normal(0.0, 18_000.0, 120)
    pnl[[20, 55, 90]] = -var[[20, 55, 90]] - 7_000.0
    return {
        "method": "historical", "window_days": 250, "confidence": 0.99, "dates": [str(d) for d in dates], "var": var,
        "pnl": pnl, "exceptions": int(np.sum(pnl < -var)), "observations": 120, "kupiec_p": 0.1234,
        "christoffersen_p": 0.0004, "traffic_light": "yellow",
    }  # fmt: skip


def make_context() -> dict:
    """The full context: every section populated, hostile strings in ids, names and values."""
    rng = np.random.default_rng(20261120)
    return {
        "title": "riskgpu run demo_2026-11-20",
        "asof": "2026-11-20",
        "status": "complete",
        "config": "configs/demo.toml",
        "config_sha256": "0123456789abcdef" * 4,
        "backend": "cpu",
        "seed": 42,
        "version": rg.__version__,
        "book": {"positions": 300, "skipped": 0, "value": 1_263_238.1234,
                 "by_book": [{"book": "delta_one", "positions": 60, "value": 1_170_503.84},
                             {"book": "vol", "positions": 240, "value": 92_734.28}]},
        "var_runs": [_var_run_from_demo(), _parametric_run(), _synthetic_mc_run(rng)],
        "stress": [
            {"scenario": "equity_crash", "pnl": -185_624.9, "by_book": {"delta_one": -215_380.97, "vol": 29_756.07}},
            {"scenario": XSS, "pnl": -856.11, "by_book": {"delta_one": 955.13, "vol": -1_811.24}},
        ],
        "positions": _positions(rng),
        "backtest": _backtest(rng),
        "exceptions": [{"stage": "read", "position_id": "B1", "row": 13, "field": "quantity", "value": XSS,
                        "reason": "not a number"}],
        "warnings": ["RuntimeWarning: a <b>bold</b> warning & café"],
        "timings": {"validate": 0.119, "price": 59.828, "var": 5.054, "stress": 0.4, "backtest": 7.25, "write": 0.9},
    }  # fmt: skip


def empty_context() -> dict:
    """Nothing configured or computed: no VaR run, no stress, no Monte Carlo position, no backtest."""
    return {
        "title": "riskgpu run empty_2026-11-20", "asof": "2026-11-20", "status": "complete",
        "config": "configs/empty.toml", "config_sha256": "0" * 64, "backend": "cpu", "seed": 1,
        "version": rg.__version__, "book": {"positions": 0, "skipped": 0, "value": 0.0, "by_book": []},
        "var_runs": [], "stress": [],
        "positions": {"position_id": ["S1"], "instrument": ["spot"], "price": np.ones(1), "stderr": np.zeros(1),
                      "closed_form": np.ones(1)},
        "backtest": None, "exceptions": [], "warnings": [], "timings": {},
    }  # fmt: skip


@pytest.fixture(scope="module")
def context() -> dict:
    return make_context()


@pytest.fixture(scope="module")
def page(context) -> str:
    return render_report(context)


def section(page: str, section_id: str) -> str:
    m = re.search(rf'<(section|header) id="{section_id}">(.*?)</\1>', page, re.S)
    assert m, f"no section {section_id}"
    return m.group(2)


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height of a PNG, after checking its signature, every chunk's CRC and that the image data
    inflates to exactly the rows the header announces."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, kinds, idat, header = 8, [], b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        kinds.append(kind)
        if kind == b"IHDR":
            header = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND" and pos == len(data)
    width, height, depth, color = header
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color]
    assert len(zlib.decompress(idat)) == height * (1 + width * channels * depth // 8)
    return width, height


def images(page: str) -> list[tuple[str, bytes]]:
    import base64

    return [(alt, base64.b64decode(b64, validate=True)) for alt, b64 in IMG.findall(page)]


# ------------------------------------------------------------------------------------------------ structure
def test_every_section_appears(page, context):
    for sid in SECTIONS:
        section(page, sid)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert f"<title>{context['title']}</title>" in page
    head = section(page, "summary")
    for text in ("2026-11-20", "cpu", "42", "configs/demo.toml", context["config_sha256"], rg.__version__,
                 "1,263,238.12", "1,170,503.84", "delta_one"):  # fmt: skip
        assert text in head, text
    assert '<span class="badge complete">complete</span>' in head
    runs = section(page, "var-runs")
    assert [f'id="var-{i}"' in runs for i in range(3)] == [True] * 3
    assert "no scenario P&amp;L to plot" in runs  # the parametric run
    assert "Top 10 contributors" in runs and "Top 2 contributors" in runs
    top = context["var_runs"][0]["top_contributors"][0]
    assert top["position_id"] in runs and f"{top['component_var']:,.2f}" in runs
    stress = section(page, "stress")
    assert "equity_crash" in stress and "-185,624.90" in stress and "-215,380.97" in stress and "29,756.07" in stress
    stderr = section(page, "stderr")
    assert "european" in stderr and "asian" in stderr and ">spot<" not in stderr  # spots have no stderr
    bt = section(page, "backtest")
    hits = context["backtest"]["exceptions"]
    for text in ("historical", "250 days", "99%", ">120<", f"{hits} (expected 1.2)", "0.123", "&lt;0.001",
                 '<span class="badge yellow">yellow</span>'):  # fmt: skip
        assert text in bt, text
    assert "not a number" in section(page, "exceptions") and ">13<" in section(page, "exceptions")
    assert "a &lt;b&gt;bold&lt;/b&gt; warning &amp; café" in section(page, "warnings")
    timings = section(page, "timings")
    assert "59.828" in timings and "backtest" in timings


def test_headline_table_shows_every_runs_figures(page, context):
    table = re.search(r'<table id="headline">.*?</table>', page, re.S).group(0)
    assert table.count("<tr>") == 1 + len(context["var_runs"])
    for run in context["var_runs"]:
        assert run["name"] in table and run["method"] in table
        assert f"<strong>{run['var']:,.2f}</strong>" in table
        assert f"<strong>{run['es']:,.2f}</strong>" in table
        for ci in (run["var_ci"], run["es_ci"]):
            if ci is not None:
                assert f"{ci[0]:,.2f} &ndash;<br>{ci[1]:,.2f}" in table
        if run["stressed"]:
            st = run["stressed"]
            assert f"{st['var']:,.2f}" in table and f"{st['es']:,.2f}" in table
            assert f"{st['start']} &ndash;<br>{st['end']}" in table
    hist, mc = context["var_runs"][0], context["var_runs"][2]
    assert f"{hist['n_scenarios']:,}" in table and "4,000" in table and "10 days" in table and "97.5%" in table
    assert "," in f"{hist['var']:,.2f}"  # thousands separators are really exercised
    assert f"{mc['var']:,.2f}" in section(page, "var-runs")


def test_images_are_pngs_that_decode(page):
    found = images(page)
    assert len(found) == page.count("<img") == N_PLOTS
    for alt, data in found:
        assert alt
        width, height = png_size(data)
        assert width == 700 and 150 <= height <= 800, (alt, width, height)
    assert len(section(page, "var-runs").split("<img")) == 3 and section(page, "backtest").count("<img") == 1


def test_page_is_self_contained(page):
    for attr, value in re.findall(r'\b(src|href)\s*=\s*"([^"]*)"', page):
        assert not value.lower().startswith(("http:", "https:", "//", "file:")), (attr, value)
        assert value.startswith(("data:", "#")), (attr, value)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower() and "@import" not in page and "url(" not in page


def test_context_strings_are_escaped(context):
    c = copy.deepcopy(context)
    mathtext = " $\\nope$"  # matplotlib would parse $...$ as mathtext and fail on the unknown command
    c["title"] = f"run {XSS} & co"
    c["config"] = f'/tmp/"{XSS}".toml'
    c["var_runs"][0]["name"] = XSS + mathtext
    c["book"]["by_book"][0]["book"] = XSS
    c["stress"][0]["scenario"] += mathtext
    c["positions"]["instrument"][1] += mathtext
    c["timings"] = {XSS: 1.0}
    page = render_report(c)
    assert XSS not in page and "<script" not in page.lower()
    assert f"<title>run {XSS_ESCAPED} &amp; co</title>" in page
    assert "&quot;" in section(page, "summary")
    for sid in ("summary", "headline-section", "var-runs", "stress", "stderr", "exceptions", "timings"):
        assert XSS_ESCAPED in section(page, sid), sid
    assert XSS_ESCAPED + mathtext in section(page, "var-runs") and "equity_crash" + mathtext in section(page, "stress")
    assert len(images(page)) == N_PLOTS


def test_partial_run_shows_the_skipped_count(context, monkeypatch):
    monkeypatch.setattr(plots, "_render_png", lambda draw, figsize=None: "")  # the plots are not under test here
    c = copy.deepcopy(context)
    c["status"] = "partial"
    c["book"]["skipped"] = 5
    page = render_report(c)
    head = section(page, "summary")
    assert '<span class="badge partial">PARTIAL &middot; 5 skipped</span>' in head
    assert '<div class="banner">Partial run: 5 positions were skipped' in head
    assert "complete" not in head
    c["book"]["skipped"] = 1
    assert "Partial run: 1 position was skipped" in render_report(c)


def test_empty_sections_say_none_configured():
    page = render_report(empty_context())
    for sid in SECTIONS:
        section(page, sid)
    for sid in ("headline-section", "var-runs", "stress", "backtest"):
        assert "none configured" in section(page, sid), sid
    assert "no position with a Monte Carlo standard error &gt; 0" in section(page, "stderr")
    assert "none: every position was priced" in section(page, "exceptions")
    assert "<img" not in page and '<table id="headline"' not in page


def test_nan_values_show_as_na(context):
    c = copy.deepcopy(context)
    run = c["var_runs"][2]
    run.update(var=float("nan"), es=np.nan, var_ci=(np.nan, 1.0), stressed={**run["stressed"], "es": np.nan})
    run["pnl"] = np.where(np.arange(run["pnl"].size) % 10 == 0, np.nan, run["pnl"])
    run["top_contributors"][0]["component_var"] = np.nan
    c["var_runs"][0]["pnl"] = np.full(5, np.nan)  # nothing finite: no plot
    c["book"]["value"] = np.nan
    c["stress"][0]["pnl"] = np.nan
    c["stress"][1]["by_book"]["vol"] = np.inf
    c["backtest"].update(kupiec_p=np.nan, christoffersen_p=None)
    c["positions"]["closed_form"][:5] = np.nan
    c["timings"]["write"] = np.nan
    page = render_report(c)
    text = IMG.sub("", page)
    assert not re.search(r"\b(nan|inf)\b", text, re.I)
    assert text.count("n/a") >= 10
    found = images(page)
    assert len(found) == N_PLOTS - 1
    for _, data in found:
        png_size(data)


# ------------------------------------------------------------------------------------------------ determinism
def test_same_context_gives_identical_bytes(context, page, tmp_path):
    write_report(tmp_path / "again.html", copy.deepcopy(context))
    assert (tmp_path / "again.html").read_bytes() == page.encode("utf-8")  # UTF-8, byte for byte
    # a fresh interpreter with another hash seed: the module imports without matplotlib, writes the same bytes
    # and never touches pyplot
    (tmp_path / "context.pkl").write_bytes(pickle.dumps(context))
    script = (
        "import pickle, sys\n"
        "import riskgpu.report as report\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'\n"
        "report.write_report(sys.argv[2], pickle.loads(open(sys.argv[1], 'rb').read()))\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "NUMBA_ENABLE_CUDASIM": "1"}
    out = tmp_path / "report.html"
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "context.pkl"), str(out)], check=True, env=env,
                   cwd=ROOT, timeout=120)  # fmt: skip
    assert out.read_bytes() == page.encode("utf-8")
    assert "café".encode() in out.read_bytes()


def test_render_leaves_matplotlib_global_state_alone(context, page):
    import matplotlib

    matplotlib.rcParams["font.size"] = 17.0  # a user's setting
    # raw values (copy): reading "backend" from the global rcParams would resolve the backend and import pyplot
    before = dict(matplotlib.rcParams.copy())
    try:
        again = render_report(context)
        assert dict(matplotlib.rcParams.copy()) == before
    finally:
        matplotlib.rcParams["font.size"] = matplotlib.rcParamsDefault["font.size"]
    assert again == page  # the user's style does not leak into the plots


# ------------------------------------------------------------------------------------------------ browser
def test_report_renders_in_a_headless_browser(context, page, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    seen = check_report_in_browser(path)
    assert seen["title"] == context["title"]
    assert seen["images"] == N_PLOTS and seen["broken_images"] == []
    assert all(w == 700 and h > 0 for w, h in seen["image_sizes"])
    assert seen["headline"] and seen["scripts"] == 0
    assert seen["console_errors"] == []
    assert not seen["overflow_x"], "the page scrolls sideways at 1280 px"


def test_browser_helper_skips_only_without_a_browser(monkeypatch, tmp_path):
    import browser

    monkeypatch.setattr(browser, "CHROMEDRIVER", tmp_path / "no-chromedriver")
    with pytest.raises(pytest.skip.Exception, match=r"no headless browser: .* missing"):
        browser.check_report_in_browser(tmp_path / "report.html")


def test_every_navigation_link_has_a_target(context):
    for page in (render_report(context), render_report(empty_context())):
        targets = set(re.findall(r'id="([^"]+)"', page))
        links = re.findall(r'href="#([^"]+)"', page)
        assert links and set(links) <= targets
