"""Atomic file output: write to a temporary name beside the target, then rename.

A killed job therefore never leaves a half-written file at a path that a later
step would trust, nor (SIGTERM, SIGINT) a temporary beside it; a temporary that a
SIGKILL or a power cut left is removed by the next atomic write into its folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

# A temporary is named ``.<target name>.aeclust-<pid>-<host>-<random><suffix>``: hidden, beside its
# target, and recognisable with the process that writes it, so a later write can tell a
# leftover (its process is gone) from a file being written. ``host`` keeps a shared
# folder (a cluster's file system) from judging another machine's processes.
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]
_TEMPORARY = re.compile(r"^\..*\.aeclust-(\d+)-([0-9a-f]{8})-[a-z0-9_]{8}(\.[^/]*)?$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def sweep_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporaries in ``folder`` that a killed writer of this machine left; return them."""
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(folder):
            m = _TEMPORARY.match(entry.name)
            if m and m.group(2) == _HOST and not _alive(int(m.group(1))):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _fsync(path: str | os.PathLike, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)  # unwinds like Ctrl-C: finally clauses remove the temporaries


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the block runs, SIGTERM raises SystemExit(143) instead of ending the process at
    once, so that ``finally`` clauses run. Only where nobody else handles SIGTERM (the
    default disposition) and in the main thread, where Python delivers signals."""
    if threading.current_thread() is not threading.main_thread() or (
        signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it onto ``path`` on success.

    ``suffix`` keeps the extension some writers insist on (``np.savez`` adds ``.npz``).
    The temporary is flushed to disk before the rename, and the rename before returning,
    so a power cut leaves the old file or the new one, never an empty one. On an error,
    Ctrl-C or SIGTERM the temporary is removed; leftovers of killed writers in the same
    folder are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_temporaries(path.parent)
    with _sigterm_unwinds():
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.aeclust-{os.getpid()}-{_HOST}-", suffix=suffix or path.suffix, dir=path.parent
        )
        tmp_path = Path(tmp)
        try:
            os.close(fd)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; outputs get the usual permissions
            yield tmp_path
            _fsync(tmp_path)
            os.replace(tmp_path, path)
            _fsync(path.parent, directory=True)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()


def save_npz(path: str | os.PathLike, **arrays: Any) -> None:
    """``np.savez_compressed`` to ``path``, atomically."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def load_npz(path: str | os.PathLike) -> dict[str, np.ndarray]:
    """Load every array of an ``.npz`` file into a dict (no pickles)."""
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def save_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def load_json(path: str | os.PathLike) -> Any:
    return json.loads(Path(path).read_text())


# A cell starting with one of these is a formula to a spreadsheet (OWASP, "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value):
    """A CSV cell that a spreadsheet shows as text and never runs: a string starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (a file named ``=HYPERLINK(...).png``,
    a class named ``+1``) gets a leading single quote, as OWASP advises; anything else,
    numbers included (``-0.5`` stays a number), is returned as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def spreadsheet_safe_frame(df):
    """``df`` with :func:`spreadsheet_safe` applied to its column names and to the cells of
    its text columns (numeric columns are left alone); ``df`` itself when nothing changes."""
    from pandas.api.types import is_numeric_dtype

    changed = {}
    for c in df.columns:
        if not is_numeric_dtype(df[c].dtype):  # text (object or str dtype): numbers stay numbers
            safe = df[c].map(spreadsheet_safe)
            if not safe.equals(df[c]):
                changed[c] = safe
    names = [spreadsheet_safe(c) for c in df.columns]
    if not changed and names == list(df.columns):
        return df
    out = df.copy(deep=False)
    for c, safe in changed.items():
        out[c] = safe
    out.columns = names
    return out


def save_table(path: str | os.PathLike, df) -> None:
    """Write a pandas DataFrame as CSV (``.csv``) or TSV (``.tsv``), UTF-8, atomically; text
    cells that a spreadsheet would run as formulas are escaped (:func:`spreadsheet_safe`)."""
    sep = "\t" if str(path).endswith(".tsv") else ","
    with atomic_path(path) as tmp:
        spreadsheet_safe_frame(df).to_csv(tmp, sep=sep, index=False, encoding="utf-8")


def save_csv(path: str | os.PathLike, columns: list[str], rows) -> None:
    """Write ``rows`` of plain values (ints, strings) under the header ``columns`` as CSV,
    UTF-8, atomically: the bytes pandas' ``to_csv(index=False)`` writes for them, without
    pandas; text cells that a spreadsheet would run as formulas are escaped (:func:`spreadsheet_safe`)."""
    import csv

    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow([spreadsheet_safe(c) for c in columns])
        out.writerows([spreadsheet_safe(v) for v in row] for row in rows)


def save_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)
