"""The nightly runner end to end: ``riskgpu run`` on the demo, every output's presence, schema and consistency,
prices and VaR against the Python API on the same random numbers, determinism, the error policy, a killed run.

Oracles: ``rg.price`` / ``rg.greeks`` on the position's stream (same numbers, so equality), ``rg.var`` with
the run's options (equality), sums of contributions (float precision), the run's own P&L vectors.
"""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import k_sigma

import riskgpu as rg
from riskgpu.cli import main
from riskgpu.runner import TABLES

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
FORMATS = ("parquet", "csv")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One run of the shipped demo config (the README's quick start), on the cpu backend."""
    out = tmp_path_factory.mktemp("runs")
    code = main(["run", str(ROOT / "configs" / "demo.toml"), "--out", str(out), "--backend", "cpu", "--log-level",
                 "warning"])  # fmt: skip
    assert code == 0
    return out / "demo_2026-11-20"


def table(folder: Path, name: str) -> pl.DataFrame:
    return pl.read_parquet(folder / f"{name}.parquet")


def small_config(tmp_path: Path, *, portfolio: Path | None = None, extra: str = "", on_error: str = "fail",
                 name: str = "small") -> Path:  # fmt: skip
    """A quick config on a slice of the demo book: one instrument of each kind, few paths, no backtest."""
    if portfolio is None:
        frame = pl.read_csv(DEMO / "portfolio.csv", infer_schema_length=0)
        portfolio = tmp_path / "portfolio.csv"
        frame.group_by("instrument", maintain_order=True).head(2).write_csv(portfolio)
    cfg = tmp_path / f"{name}.toml"
    cfg.write_text(f"""
on_error = "{on_error}"
[inputs]
portfolio = "{portfolio}"
market = "{DEMO / "market"}"
[engine]
backend = "cpu"
seed = 7
n_paths = 2000
[pricing]
greeks = ["delta", "vega"]
[[risk]]
name = "hist"
method = "historical"
[[risk]]
name = "mc"
method = "monte_carlo"
n_scenarios = 1000
[[stress]]
name = "down"
spot = -0.1
[outputs]
folder = "{tmp_path / "runs"}"
{extra}
""")
    return cfg


# ------------------------------------------------------------------------------------------ the demo run
def test_demo_run_has_every_output(demo_run):
    assert (demo_run / "_SUCCESS").is_file()
    assert (demo_run.parent / "latest").resolve() == demo_run.resolve()
    manifest = json.loads((demo_run / "manifest.json").read_text())
    for name in manifest["files"]:
        assert (demo_run / name).is_file(), name
    for t in TABLES:
        for fmt in FORMATS:
            assert (demo_run / f"{t}.{fmt}").is_file()
            assert manifest["rows"][f"{t}.{fmt}"] == table(demo_run, t).height
    assert not [p for p in demo_run.parent.iterdir() if p.name.startswith(".")]


def test_demo_tables_schemas_and_csv_equal_parquet(demo_run):
    expected = {
        "positions": ["position_id", "book", "instrument", "underlying", "quantity", "price", "stderr", "closed_form",
                      "value", "value_stderr", "method", "variance_reduction",
                      "delta", "delta_stderr", "gamma", "gamma_stderr", "vega",
                      "vega_stderr"],
        "greeks": ["position_id", "greek", "underlying", "underlying_2", "value", "stderr", "method"],
        "contributions": ["run", "level", "key", "component_var", "component_es", "marginal_var", "positions"],
        "pnl": ["run", "scenario", "pnl"],
        "stress": ["scenario", "position_id", "book", "underlying", "pnl"],
        "backtest": ["date", "var", "pnl", "exception"],
        "exceptions": ["stage", "reason", "position_id", "row", "field", "value", "source"],
        "var": ["run", "method", "confidence", "es_confidence", "horizon_days", "var", "es", "var_ci_low",
                "var_ci_high", "es_ci_low", "es_ci_high", "n_scenarios", "revaluation", "base_value", "stressed_var",
                "stressed_es", "stressed_start", "stressed_end"],
    }  # fmt: skip
    for name, cols in expected.items():
        assert table(demo_run, name).columns == cols, name
    for name in TABLES:
        pq = table(demo_run, name)
        csv = pl.read_csv(demo_run / f"{name}.csv", schema=pq.schema)
        assert csv.equals(pq), name
    positions = table(demo_run, "positions")
    assert positions.height == 300 and positions["position_id"].is_unique().all()
    assert set(positions["instrument"]) >= {"spot", "forward", "european", "asian", "barrier", "american", "basket"}
    assert table(demo_run, "exceptions").height == 0
    from riskgpu.batch.stages import schemas

    for name, schema in schemas().items():  # fixed types whatever the config: nightly files stack
        assert dict(table(demo_run, name).schema) == schema, name


def test_demo_prices_and_greeks_equal_the_api_on_the_position_stream(demo_run):
    market, portfolio = rg.Market.read(DEMO / "market"), rg.Portfolio.read(DEMO / "portfolio.csv")
    positions = table(demo_run, "positions")
    greeks = table(demo_run, "greeks")
    sample = positions.filter(~pl.col("instrument").is_in(["lookback", "american"])).group_by(
        "instrument", maintain_order=True).head(1)  # fmt: skip
    products = dict(zip(portfolio.ids, portfolio.products(market), strict=True))
    by_id = {p.position_id: p for p in portfolio.positions}
    for row in sample.iter_rows(named=True):
        pid = row["position_id"]
        model = market.model(by_id[pid].underlyings)
        kw = {"n_paths": 20000, "seed": 42, "backend": "cpu", "stream": rg.position_stream(pid)}
        if row["instrument"] in ("spot", "forward"):
            assert row["stderr"] == 0.0 and row["price"] == row["closed_form"]
            continue
        ref = rg.price(products[pid], model, **kw)
        assert row["price"] == ref.value and row["stderr"] == ref.stderr, pid
        g = rg.greeks(products[pid], model, which=("delta", "gamma", "vega"), **kw)
        mine = greeks.filter(pl.col("position_id") == pid)
        delta = mine.filter(pl.col("greek") == "delta")["value"].to_list()
        assert delta == (g.values["delta"] if isinstance(g.values["delta"], list) else [g.values["delta"]])
        # the MC price agrees with the closed form / fast approximation of the grid to its standard error
        if row["instrument"] in ("european", "digital"):
            assert abs(row["price"] - row["closed_form"]) <= k_sigma(8) * row["stderr"], pid


def test_demo_var_equals_the_api_and_totals_equal_contributions(demo_run):
    market, portfolio = rg.Market.read(DEMO / "market"), rg.Portfolio.read(DEMO / "portfolio.csv")
    var = table(demo_run, "var")
    assert var["run"].to_list() == ["historical_99", "parametric_delta_gamma_99", "monte_carlo_99_10d"]
    ref = rg.var(portfolio, market, method="historical", confidence=0.99, es_confidence=0.975, lookback_days=500,
                 backend="cpu", stressed=("2024-03-01", "2024-09-30"))  # fmt: skip
    hist = var.row(0, named=True)
    assert hist["var"] == ref.var and hist["es"] == ref.es
    mc = rg.var(portfolio, market, method="monte_carlo", horizon_days=10, n_scenarios=10000, returns="student_t",
                dof=5.0, seed=42, backend="cpu")  # fmt: skip
    assert var.row(2, named=True)["var"] == mc.var
    dg = rg.var(portfolio, market, method="parametric", approximation="delta_gamma", backend="cpu")
    assert (var.row(1, named=True)["var"], var.row(1, named=True)["es"]) == (dg.var, dg.es)
    contributions, pnl = table(demo_run, "contributions"), table(demo_run, "pnl")
    for row in var.iter_rows(named=True):
        for level in ("position", "book", "underlying"):
            c = contributions.filter((pl.col("run") == row["run"]) & (pl.col("level") == level))
            assert c.height > 0
            assert math.fsum(c["component_var"].to_list()) == pytest.approx(row["var"], rel=1e-9)
            assert math.fsum(c["component_es"].to_list()) == pytest.approx(row["es"], rel=1e-9)
        scen = pnl.filter(pl.col("run") == row["run"])["pnl"].to_numpy()
        if row["method"] != "parametric":
            assert scen.size == row["n_scenarios"]
            # VaR is the loss quantile of the run's own scenario P&L: at most (1 - c) of losses exceed it
            assert np.mean(-scen > row["var"]) <= 1 - row["confidence"] + 1e-12
            assert np.mean(-scen >= row["var"]) >= 1 - row["confidence"] - 1e-12
    summary = json.loads((demo_run / "summary.json").read_text())
    assert {k: v["var"] for k, v in summary["var"].items()} == dict(zip(var["run"], var["var"], strict=True))
    assert summary["var"]["historical_99"]["stressed_var"] == ref.stressed.var
    assert hist["stressed_es"] == ref.stressed.es and hist["stressed_start"] == "2024-03-01"


def test_demo_stress_backtest_and_summary_are_consistent(demo_run):
    summary = json.loads((demo_run / "summary.json").read_text())
    positions, stress, backtest = table(demo_run, "positions"), table(demo_run, "stress"), table(demo_run, "backtest")
    assert summary["status"] == "complete" and summary["positions"] == {"in_file": 300, "priced": 300, "skipped": 0}
    assert summary["portfolio_value"] == pytest.approx(math.fsum(positions["value"].to_list()), rel=1e-12)
    assert sum(b["positions"] for b in summary["by_book"]) == 300
    for name, total in summary["stress"].items():
        assert total == pytest.approx(math.fsum(stress.filter(pl.col("scenario") == name)["pnl"].to_list()), rel=1e-9)
    assert list(summary["stress"]) == ["equity_crash", "rates_up_one_week"]
    assert summary["stress"]["equity_crash"] < 0  # the book is long equity
    b = summary["backtest"]
    assert b["observations"] == backtest.height and b["exceptions"] == int(backtest["exception"].sum())
    assert b["traffic_light"] in ("green", "yellow", "red")


def test_demo_manifest_records_the_run(demo_run):
    m = json.loads((demo_run / "manifest.json").read_text())
    cfg = ROOT / "configs" / "demo.toml"
    import hashlib

    assert m["config"]["sha256"] == hashlib.sha256(cfg.read_bytes()).hexdigest()
    assert m["config"]["resolved"]["engine"]["backend"] == "cpu" and m["config"]["overrides"]["backend"] == "cpu"
    assert m["config"]["resolved"]["inputs"]["portfolio"] == str(DEMO / "portfolio.csv")
    assert m["seed"] == 42 and m["status"] == "complete" and m["exit_code"] == 0 and m["asof"] == "2026-11-20"
    assert m["versions"]["numpy"] == np.__version__ and m["versions"]["riskgpu"] == rg.__version__
    assert m["device"]["backend"] == "cpu"
    assert {"validate", "price", "var", "stress", "backtest", "write", "total"} <= set(m["timings_s"])
    assert str(DEMO / "portfolio.csv") in m["inputs"] and len(m["inputs"]) == 5
    assert isinstance(m["warnings"], list)


def test_demo_run_log_is_json_lines_with_progress(demo_run):
    lines = [json.loads(x) for x in (demo_run / "run.log").read_text().splitlines()]
    assert {"debug", "info"} <= {x["level"] for x in lines}
    price = [x for x in lines if x.get("event") == "progress" and x["stage"] == "price"]
    assert price and price[-1]["done"] == price[-1]["total"] == 300
    assert [x["stage"] for x in lines if x.get("event") == "stage_end"] == [
        "validate", "price", "var", "stress", "backtest", "write"]  # fmt: skip
    assert lines[-1]["event"] == "end" and lines[-1]["status"] == "complete"


def test_demo_report_renders_in_a_browser(demo_run):
    from browser import check_report_in_browser

    page = (demo_run / "report.html").read_text()
    assert "historical_99" in page and "equity_crash" in page and "http://" not in page
    seen = check_report_in_browser(demo_run / "report.html")
    assert seen["images"] >= 5 and not seen["console_errors"]


# --------------------------------------------------------------------------------------- operations
def test_same_config_and_seed_give_byte_identical_tables(tmp_path):
    cfg = small_config(tmp_path)
    assert main(["run", str(cfg), "--out", str(tmp_path / "a"), "--log-level", "error"]) == 0
    env = {**os.environ, "PYTHONHASHSEED": "4321"}  # another process, other hash seeds: no set/dict-order leaks
    cmd = [sys.executable, "-m", "riskgpu.cli", "run", str(cfg), "--out", str(tmp_path / "b"), "--log-level", "error"]
    assert subprocess.run(cmd, env=env, timeout=300).returncode == 0
    a, b = tmp_path / "a" / "small_2026-11-20", tmp_path / "b" / "small_2026-11-20"
    for t in TABLES:
        for fmt in FORMATS:
            assert (a / f"{t}.{fmt}").read_bytes() == (b / f"{t}.{fmt}").read_bytes(), f"{t}.{fmt}"
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    assert main(["run", str(cfg), "--out", str(tmp_path / "c"), "--seed", "8", "--log-level", "error"]) == 0
    c = tmp_path / "c" / "small_2026-11-20"
    assert table(a, "positions")["price"].to_list() != table(c, "positions")["price"].to_list()
    assert json.loads((c / "manifest.json").read_text())["seed"] == 8


def test_overwrite_swaps_the_folder_and_asof_and_name_options(tmp_path):
    cfg = small_config(tmp_path, extra='name = "nightly-${ASOF}"')
    out = tmp_path / "runs"
    assert main(["run", str(cfg), "--asof", "2026-11-20", "--log-level", "error"]) == 0
    folder = out / "nightly-2026-11-20"
    first = (folder / "manifest.json").read_text()
    assert main(["run", str(cfg), "--asof", "2026-11-20", "--log-level", "error"]) == 2  # exists: not replaced
    assert (folder / "manifest.json").read_text() == first
    assert main(["run", str(cfg), "--asof", "2026-11-20", "--overwrite", "--log-level", "error"]) == 0
    assert (folder / "manifest.json").read_text() != first and (folder / "_SUCCESS").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["latest", "nightly-2026-11-20"]
    assert main(["run", str(cfg), "--asof", "2026-11-19", "--log-level", "error"]) == 2  # the market is 11-20


def test_skip_policy_reports_every_bad_position_and_exits_3(tmp_path, capsys):
    good = pl.read_csv(DEMO / "portfolio.csv", infer_schema_length=0).head(12)
    text = good.write_csv()
    lines = text.splitlines()
    header = lines[0].split(",")
    bad = []
    for pid, field, value in (("B1", "quantity", "abc"), ("B2", "underlying", "NOPE"), ("B3", "maturity", "2020-01-01"),
                              ("P0003", "quantity", "5")):  # fmt: skip
        cells = lines[3].split(",")
        cells[header.index("position_id")] = pid
        cells[header.index(field)] = value
        bad.append(",".join(cells))
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join([*lines, *bad]) + "\n")
    cfg = small_config(tmp_path, portfolio=path, on_error="skip")
    code = main(["run", str(cfg), "--out", str(tmp_path / "out"), "--log-level", "error"])
    assert code == 3
    folder = tmp_path / "out" / "small_2026-11-20"
    assert (folder / "_SUCCESS").is_file()
    ex = table(folder, "exceptions")
    assert ex["position_id"].to_list() == ["P0003", "B1", "B2", "B3", "P0003"]  # by row: 3, 13, 14, 15, 16
    assert ex.filter(pl.col("position_id") == "B1")["field"].to_list() == ["quantity"]
    assert ex.filter(pl.col("position_id") == "B2")["value"].to_list() == ["'NOPE'"]
    assert all(ex["source"] == str(path))
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "partial" and manifest["exit_code"] == 3
    assert manifest["positions"] == {"in_file": 16, "priced": 11, "skipped": 5}
    assert table(folder, "positions")["position_id"].to_list() == sorted(set(good["position_id"]) - {"P0003"})
    assert "partial" in (folder / "report.html").read_text()


def test_skip_policy_leaves_out_a_position_whose_pricing_fails(tmp_path, monkeypatch):
    greeks_module = sys.modules["riskgpu.greeks"]  # (rg.greeks is the function)

    real = greeks_module.greeks

    def flaky(product, model, **kw):
        if kw["stream"] == rg.position_stream("P0003"):
            raise FloatingPointError("synthetic failure")
        return real(product, model, **kw)

    monkeypatch.setattr(greeks_module, "greeks", flaky)
    cfg = small_config(tmp_path, on_error="skip")
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--log-level", "error"]) == 3
    folder = tmp_path / "out" / "small_2026-11-20"
    ex = table(folder, "exceptions").row(0, named=True)
    assert ex["stage"] == "price" and ex["position_id"] == "P0003" and "synthetic failure" in ex["reason"]
    assert ex["row"] is not None
    assert "P0003" not in table(folder, "positions")["position_id"].to_list()
    assert "P0003" not in table(folder, "contributions")["key"].to_list()
    assert "P0003" not in table(folder, "stress")["position_id"].to_list()
    cfg_fail = small_config(tmp_path, name="strict")
    assert main(["run", str(cfg_fail), "--out", str(tmp_path / "out"), "--log-level", "error"]) == 1
    assert not (tmp_path / "out" / "strict_2026-11-20").exists()
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".strict")]


def test_a_killed_run_leaves_no_success_folder_and_a_rerun_succeeds(tmp_path):
    cfg = small_config(tmp_path)
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "riskgpu.cli", "run", str(cfg), "--out", str(out), "--log-level", "debug"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until it is pricing inside its temporary folder
            logs = list(out.glob(".small_2026-11-20.tmp-*/run.log")) if out.exists() else []
            if logs and '"stage": "price"' in logs[0].read_text():
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("the run never started pricing")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (out / "small_2026-11-20").exists() and not (out / "latest").exists()
    assert not list(out.rglob("_SUCCESS"))
    assert list(out.glob(".small_2026-11-20.tmp-*"))  # what the killed run left, not looking complete
    assert main(["run", str(cfg), "--out", str(out), "--log-level", "error"]) == 0
    assert (out / "small_2026-11-20" / "_SUCCESS").is_file()
    assert sorted(p.name for p in out.iterdir()) == ["latest", "small_2026-11-20"]  # leftovers cleaned


def test_progress_bar_on_a_terminal_and_levels():
    from riskgpu.batch.progress import RunLog

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    log = RunLog("info", stream)
    with log.stage("price", total=4) as step:
        for _ in range(4):
            step()
    log.close()
    text = stream.getvalue()
    assert "\rprice:" in text and "/4 [" in text  # tqdm's bar
    assert text.endswith("riskgpu: INFO: price: done in 0.0 s\n")
    quiet = io.StringIO()
    log = RunLog("warning", quiet)
    with log.stage("price", total=2) as step:
        step()
        step()
    log.warning("careful")
    log.close()
    assert quiet.getvalue() == "riskgpu: WARNING: careful\n"  # no bar off a terminal, no info lines
    assert "price" in log.timings


def test_run_help_documents_exit_codes():
    proc = subprocess.run([sys.executable, "-m", "riskgpu.cli", "run", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    for word in ("--out", "--backend", "--seed", "--asof", "--overwrite", "3 partial", "2 invalid input"):
        assert word in proc.stdout


@pytest.mark.skipif(shutil.which("riskgpu") is None, reason="the riskgpu console script is not installed")
def test_the_real_command_runs_the_small_config(tmp_path):
    cfg = small_config(tmp_path)
    proc = subprocess.run(["riskgpu", "run", str(cfg), "--out", str(tmp_path / "o"), "--json"], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "complete"


# ------------------------------------------------------------------------------------- info and bench
def test_bench_times_each_backend_against_closed_forms(capsys):
    assert main(["bench", "--n-paths", "4000", "--repeat", "1", "--backend", "reference", "--backend", "cpu",
                 "--json"]) == 0  # fmt: skip
    doc = json.loads(capsys.readouterr().out)
    assert [(r["backend"], r["case"]) for r in doc["rows"]] == [
        ("reference", "european"), ("reference", "asian"), ("cpu", "european"), ("cpu", "asian")]  # fmt: skip
    for r in doc["rows"]:
        assert abs(r["z"]) <= k_sigma(4) and r["paths_per_s"] > 0
    ref, cpu = doc["rows"][0], doc["rows"][2]
    assert ref["value"] == pytest.approx(cpu["value"], rel=1e-12)  # the same Philox numbers on both backends
    assert main(["bench", "--backend", "gpu", "--n-paths", "100"]) == 2  # the simulator is not benchmarked
    assert main(["bench", "--n-paths", "1"]) == 2


def test_info_lists_versions_backends_and_devices(capsys):
    assert main(["info", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["versions"]["riskgpu"] == rg.__version__ and "cpu" in doc["backends"]
    assert "logical CPUs" in doc["devices"]["cpu"] and isinstance(doc["devices"]["gpus"], list)


def test_warnings_of_the_inputs_reach_the_manifest_and_the_report(tmp_path):
    market = tmp_path / "market"
    shutil.copytree(DEMO / "market", market)
    corr = pl.read_csv(market / "correlation.csv")
    names = corr["underlying"].to_list()
    a, b, c = names[:3]
    values = {(a, b): 0.99, (b, c): 0.99, (a, c): -0.99}  # not positive semi-definite
    for (x, y), v in values.items():
        corr = corr.with_columns(pl.when(pl.col("underlying") == x).then(v).otherwise(pl.col(y)).alias(y)).with_columns(
            pl.when(pl.col("underlying") == y).then(v).otherwise(pl.col(x)).alias(x)
        )
    corr.write_csv(market / "correlation.csv")
    cfg = small_config(tmp_path)
    text = (
        cfg.read_text().replace(str(DEMO / "market"), str(market)).replace("[engine]", 'repair = "nearest"\n[engine]')
    )
    cfg.write_text(text)
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--log-level", "error"]) == 0
    folder = tmp_path / "out" / "small_2026-11-20"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert any(w.startswith("CorrelationRepairWarning") for w in manifest["warnings"])
    assert "CorrelationRepairWarning" in (folder / "report.html").read_text()
    cfg.write_text(text.replace('repair = "nearest"\n', ""))  # without repair: an input error, nothing written
    assert main(["run", str(cfg), "--out", str(tmp_path / "strict"), "--log-level", "error"]) == 2
    assert not (tmp_path / "strict").exists()


def test_an_unavailable_backend_is_an_input_error(tmp_path, monkeypatch, capsys):
    backends_module = sys.modules["riskgpu.backends"]  # (rg.backends is the function)

    def unavailable(name):
        raise backends_module.BackendUnavailableError(f"{name}: no CUDA driver or device found")

    monkeypatch.setattr(backends_module, "resolve", unavailable)
    cfg = small_config(tmp_path)
    assert main(["run", str(cfg), "--out", str(tmp_path / "out"), "--backend", "gpu"]) == 2
    assert "no CUDA driver" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("extra_risk", "engine", "fragment"),
    [
        ('revaluation = "nested"\ninner_paths = 64', "", None),  # historical + nested is a valid run
        ("", "antithetic = true\nn_paths = 2001", "engine.n_paths = 2001 must be even"),
        ("", "", "stress[1] ('bad')"),
        ("", "", "backtest.window_days = 5000"),
    ],
    ids=["nested-historical-ok", "antithetic-odd-paths", "stress-spot-below-minus-one", "backtest-longer-than-history"],
)
def test_validate_refuses_what_the_run_would_fail_on(tmp_path, capsys, extra_risk, engine, fragment):
    cfg = small_config(tmp_path)
    text = cfg.read_text().replace(
        'name = "hist"\nmethod = "historical"', f'name = "hist"\nmethod = "historical"\n{extra_risk}'
    )
    text = text.replace("n_paths = 2000", engine or "n_paths = 2000")
    if "stress[1]" in (fragment or ""):
        text += '\n[[stress]]\nname = "bad"\nspot = -1.5\n'
    if "backtest" in (fragment or ""):
        text += "\n[backtest]\nwindow_days = 5000\n"
    cfg.write_text(text)
    code = main(["validate", str(cfg)])
    err = capsys.readouterr().err
    if fragment is None:
        assert code == 0, err
    else:
        assert code == 2 and fragment in err and str(cfg) in err, err
        assert main(["run", str(cfg), "--out", str(tmp_path / "o")]) == 2 and not (tmp_path / "o").exists()


def test_variance_reduction_applies_where_a_product_takes_it(tmp_path):
    cfg = small_config(tmp_path)
    cfg.write_text(
        cfg.read_text().replace("n_paths = 2000", "n_paths = 2000\nantithetic = true\ncontrol_variate = true")
    )
    assert main(["run", str(cfg), "--out", str(tmp_path / "o"), "--log-level", "error"]) == 0
    pos = table(tmp_path / "o" / "small_2026-11-20", "positions")
    got = dict(zip(pos["instrument"], pos["variance_reduction"], strict=False))
    assert got["american"] == "none" and got["spot"] == "none"
    assert got["european"] == got["asian"] == "antithetic+control_variate"
    market = rg.Market.read(DEMO / "market")
    row = pos.filter(pl.col("instrument") == "asian").row(0, named=True)
    p = rg.Portfolio.read(tmp_path / "portfolio.csv").subset([row["position_id"]])
    ref = rg.price(p.products(market)[0], market.model(row["underlying"]), n_paths=2000, seed=7, backend="cpu",
                   antithetic=True, control_variate=True, stream=rg.position_stream(row["position_id"]))  # fmt: skip
    assert (row["price"], row["stderr"]) == (ref.value, ref.stderr)
