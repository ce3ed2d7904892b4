"""``riskgpu var`` on the demo data: the table, JSON equal to rg.var, and exit code 2 on bad input."""

import json
import shutil
from pathlib import Path

import pytest

import riskgpu as rg
from riskgpu.cli import main

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"
ARGS = ["var", "--portfolio", str(DEMO / "portfolio.csv"), "--market", str(DEMO / "market"), "--backend", "cpu"]


def test_json_equals_rg_var(capsys):
    code = main([*ARGS, "--method", "monte_carlo", "--n-scenarios", "500", "--seed", "4", "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)
    want = rg.var(
        rg.Portfolio.read(DEMO / "portfolio.csv"),
        rg.Market.read(DEMO / "market"),
        method="monte_carlo",
        n_scenarios=500,
        seed=4,
        backend="cpu",
    )
    assert len(rows) == 1 and rows[0]["var"] == want.var and rows[0]["es"] == want.es
    assert rows[0]["n_scenarios"] == 500 and rows[0]["var_ci"][0] <= rows[0]["var_ci"][1]


def test_table_has_every_method(capsys):
    assert main([*ARGS, "--n-scenarios", "300", "--es-confidence", "0.975"]) == 0
    out = capsys.readouterr().out
    for method in ("historical", "parametric", "monte_carlo"):
        assert method in out
    assert "300 positions" in out and "0.975" in out


def test_bad_portfolio_row_exits_2_naming_file_row_and_field(tmp_path, capsys):
    lines = (DEMO / "portfolio.csv").read_text().splitlines()
    lines[3] = lines[3].replace(",call,", ",cal,", 1) if ",call," in lines[3] else lines[3].replace(",put,", ",pt,", 1)
    bad = tmp_path / "portfolio.csv"
    bad.write_text("\n".join(lines) + "\n")
    code = main(["var", "--portfolio", str(bad), "--market", str(DEMO / "market"), "--method", "parametric"])
    err = capsys.readouterr().err
    assert code == 2
    assert "portfolio.csv" in err and "row 3" in err and "kind" in err


def test_market_not_psd_exits_2_and_repair_runs(tmp_path, capsys):
    market = tmp_path / "market"
    shutil.copytree(DEMO / "market", market)
    lines = (market / "correlation.csv").read_text().splitlines()
    head = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    rows[0][2] = rows[1][1] = "-0.99"  # ALPHA-BRAVO strongly negative against positive one-factor links
    rows[0][3] = rows[2][1] = "0.99"
    rows[1][3] = rows[2][2] = "0.99"
    (market / "correlation.csv").write_text("\n".join([",".join(head), *(",".join(r) for r in rows)]) + "\n")
    args = ["var", "--portfolio", str(DEMO / "portfolio.csv"), "--market", str(market), "--method", "parametric"]
    assert main(args) == 2
    assert "semi-definite" in capsys.readouterr().err
    with pytest.warns(UserWarning):
        assert main([*args, "--repair", "nearest", "--backend", "cpu"]) == 0
