"""Atomic run folders: written under a temporary name beside the final one, renamed when complete.

``with run_folder(parent, name) as tmp:`` writes into ``tmp``; on success a ``_SUCCESS`` marker is added,
the folder is renamed to ``parent / name`` and the ``parent / "latest"`` link points at it; on an exception
the temporary folder is removed. A killed run leaves only a ``.name.tmp-*`` folder, never one that looks
complete, and the next run on the same parent removes such leftovers. An existing good run is never
replaced unless ``overwrite=True``, which swaps the new folder in by renames.
"""

from __future__ import annotations

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


def _stale(parent: Path, name: str) -> list[Path]:
    return [p for p in parent.glob(f".{name}.tmp-*") if p.is_dir()] + [
        p for p in parent.glob(f".{name}.old-*") if p.is_dir()
    ]


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
    try:
        yield tmp
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
    link = parent / f".{LATEST}.tmp-{uuid.uuid4().hex[:8]}"
    link.symlink_to(name, target_is_directory=True)
    os.replace(link, parent / LATEST)


def is_complete(folder: str | Path) -> bool:
    """True when ``folder`` holds a finished run (its ``_SUCCESS`` marker)."""
    return (Path(folder) / SUCCESS).is_file()
