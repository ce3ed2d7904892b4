"""Atomic run folders: written under a temporary name beside the final one, renamed when complete.

``with run_folder(parent, name) as tmp:`` writes into ``tmp``; on success a ``_SUCCESS`` marker is added,
the folder is renamed to ``parent / name`` and the ``parent / "latest"`` link points at it; on an exception
the temporary folder is removed. A killed run leaves only a ``.name.tmp-*`` folder, never one that looks
complete, and the next run on the same parent removes such leftovers (a ``.lock`` held inside a temporary
folder marks a live run: a second run of the same name is refused rather than deleting it). An existing good
run is never replaced unless ``overwrite=True``, which swaps the new folder in by renames.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SUCCESS = "_SUCCESS"
LATEST = "latest"


class RunFolderExistsError(FileExistsError):
    """The run folder exists already and ``overwrite`` was not asked for."""


LOCK = ".lock"


def _stale(parent: Path, name: str) -> list[Path]:
    """Leftovers of earlier runs of ``name``; a temporary folder whose lock is held belongs to a live run of the
    same name, which is an error (two runs would publish over each other)."""
    out = [p for p in parent.glob(f".{name}.old-*") if p.is_dir()]
    for p in parent.glob(f".{name}.tmp-*"):
        if not p.is_dir():
            continue
        try:
            fd = os.open(p / LOCK, os.O_RDWR)
        except OSError:
            out.append(p)  # no lock file: killed before it was made
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunFolderExistsError(f"{parent / name}: another run of it is in progress ({p.name})") from None
        finally:
            os.close(fd)
        out.append(p)
    return out


@contextmanager
def run_folder(parent: str | Path, name: str, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder for run ``name`` under ``parent``; publish it atomically on success.

    Tested: success publishes with ``_SUCCESS`` and ``latest``; an exception leaves nothing; leftovers of a
    killed run are removed by the next; an existing run needs ``overwrite=True``.
    """
    if not name or "/" in name or name.startswith(".") or name == LATEST:
        raise ValueError(f"run_folder: invalid run name {name!r}")
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    final = parent / name
    if final.exists() and not overwrite:
        raise RunFolderExistsError(f"{final} exists (a previous run); pass overwrite to replace it")
    for old in _stale(parent, name):
        shutil.rmtree(old, ignore_errors=True)
    tmp = parent / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    lock = os.open(tmp / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)  # held while this run lives: a concurrent run of the name sees it
    try:
        yield tmp
        if final.exists() and not overwrite:  # appeared while this run computed
            raise RunFolderExistsError(f"{final} appeared during this run; pass overwrite to replace it")
        (tmp / LOCK).unlink()
        (tmp / SUCCESS).write_text("")
        if final.exists():
            retired = parent / f".{name}.old-{uuid.uuid4().hex[:8]}"
            os.replace(final, retired)
            os.replace(tmp, final)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(lock)
    link = parent / f".{LATEST}.tmp-{uuid.uuid4().hex[:8]}"
    link.symlink_to(name, target_is_directory=True)
    os.replace(link, parent / LATEST)


def is_complete(folder: str | Path) -> bool:
    """True when ``folder`` holds a finished run (its ``_SUCCESS`` marker)."""
    return (Path(folder) / SUCCESS).is_file()
