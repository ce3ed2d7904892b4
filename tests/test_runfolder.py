"""Atomic run folders: success publishes, failure and a killed run leave nothing that looks complete."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from riskgpu.io.runfolder import LATEST, SUCCESS, RunFolderExistsError, is_complete, run_folder


def test_success_publishes_with_marker_and_latest_link(tmp_path):
    with run_folder(tmp_path, "2026-11-20") as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".2026-11-20.tmp-")
        (tmp / "summary.json").write_text("{}")
        assert not (tmp_path / "2026-11-20").exists()
    final = tmp_path / "2026-11-20"
    assert is_complete(final) and (final / "summary.json").read_text() == "{}"
    assert os.readlink(tmp_path / LATEST) == "2026-11-20"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-11-20", LATEST]


def test_an_exception_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="boom"), run_folder(tmp_path, "run") as tmp:
        (tmp / "half.csv").write_text("x")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_existing_run_needs_overwrite_which_swaps(tmp_path):
    with run_folder(tmp_path, "run") as tmp:
        (tmp / "v").write_text("1")
    with pytest.raises(RunFolderExistsError, match="exists"), run_folder(tmp_path, "run"):
        pass
    assert (tmp_path / "run" / "v").read_text() == "1"
    with run_folder(tmp_path, "run", overwrite=True) as tmp:
        (tmp / "v").write_text("2")
    assert (tmp_path / "run" / "v").read_text() == "2" and is_complete(tmp_path / "run")
    assert sorted(p.name for p in tmp_path.iterdir()) == [LATEST, "run"]


def test_a_killed_run_leaves_no_success_folder_and_a_rerun_succeeds(tmp_path):
    code = textwrap.dedent(
        f"""
        import os, signal, time
        from riskgpu.io.runfolder import run_folder
        with run_folder({str(tmp_path)!r}, "run") as tmp:
            (tmp / "part.csv").write_text("x")
            os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    left = list(tmp_path.iterdir())
    assert len(left) == 1 and left[0].name.startswith(".run.tmp-") and not (left[0] / SUCCESS).exists()
    assert not (tmp_path / "run").exists()
    with run_folder(tmp_path, "run") as tmp:
        (tmp / "ok").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == [LATEST, "run"] and is_complete(tmp_path / "run")


@pytest.mark.parametrize("name", ["", ".hidden", "a/b", "latest"])
def test_bad_names(tmp_path, name):
    with pytest.raises(ValueError, match="invalid run name"), run_folder(tmp_path, name):
        pass


def test_a_live_run_of_the_same_name_is_refused_not_deleted(tmp_path):
    from riskgpu.io.runfolder import RunFolderExistsError, run_folder

    with run_folder(tmp_path, "r") as live:
        (live / "x").write_text("mine")
        with pytest.raises(RunFolderExistsError, match="another run of it is in progress"):
            with run_folder(tmp_path, "r"):
                pass
        assert (live / "x").read_text() == "mine"
    assert (tmp_path / "r" / "x").read_text() == "mine" and not (tmp_path / "r" / ".lock").exists()


def test_a_folder_that_appears_during_the_run_is_not_replaced_without_overwrite(tmp_path):
    from riskgpu.io.runfolder import RunFolderExistsError, run_folder

    with pytest.raises(RunFolderExistsError, match="appeared during this run"):
        with run_folder(tmp_path, "r"):
            (tmp_path / "r").mkdir()
            (tmp_path / "r" / "theirs").write_text("")
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["theirs"]
    assert not list(tmp_path.glob(".r.tmp-*"))
