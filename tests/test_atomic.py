"""Atomic writes (aeclust.io.atomic_path) under kills: the target is whole or absent, and no
temporary outlives its writer (SIGTERM, Ctrl-C) or the next write into its folder (SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest
from aeclust import io
from conftest import REPO

ENV = {**os.environ, "PYTHONPATH": str(REPO / "workflow" / "scripts")}


def _writer(target, then: str = "time.sleep(60)") -> subprocess.Popen:
    """A process that writes half of ``target`` through atomic_path, says so, then ``then``."""
    code = textwrap.dedent(f"""
        import time
        from aeclust.io import atomic_path
        with atomic_path({str(target)!r}) as tmp:
            tmp.write_bytes(b"half of it")
            print("writing", flush=True)
            {then}
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    assert proc.stdout.readline().strip() == b"writing", proc.stderr.read()
    return proc


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_writer_stopped_mid_write_leaves_nothing(tmp_path, sig):
    target = tmp_path / "features.npz"
    proc = _writer(target)
    temporaries = [p.name for p in tmp_path.iterdir()]
    assert len(temporaries) == 1 and temporaries[0].startswith(".features.npz.aeclust-"), temporaries
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    if sig == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM, err  # unwound, then exited as a SIGTERM'd job
    assert list(tmp_path.iterdir()) == []


def test_sigkill_leftovers_are_swept_by_the_next_write_and_live_writers_kept(tmp_path):
    killed = _writer(tmp_path / "a.json")
    killed.kill()
    killed.wait(timeout=30)
    (left,) = tmp_path.iterdir()  # SIGKILL cannot be caught: the temporary stays ...
    live = _writer(tmp_path / "b.json")  # ... and this writer is still at work
    try:
        (busy,) = {p for p in tmp_path.iterdir()} - {left}
        io.save_json(tmp_path / "c.json", {"x": 1})  # the next atomic write into the folder
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([busy.name, "c.json"])
        foreign = tmp_path / f".d.aeclust-{killed.pid}-00000000-abcdefgh"  # another machine's
        foreign.write_text("")
        user = tmp_path / ".my.notes"
        user.write_text("")
        assert io.sweep_temporaries(tmp_path) == [] and foreign.exists() and user.exists()
    finally:
        live.kill()
        live.wait(timeout=30)
    assert io.sweep_temporaries(tmp_path) == [busy]


def test_file_and_folder_reach_the_disk_around_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(
        os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))), real_fsync(fd))
    )
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(b))), real_replace(a, b)))
    target = tmp_path / "m.json"
    io.save_json(target, [1])
    (kind0, tmp), *rest = events
    assert kind0 == "fsync" and os.path.basename(tmp).startswith(".m.json.aeclust-"), events
    assert rest == [("replace", str(target)), ("fsync", str(tmp_path))], events


def test_sigterm_is_ours_only_inside_the_write_and_a_handler_of_the_host_is_kept(tmp_path):
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with io.atomic_path(tmp_path / "x") as tmp:
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        tmp.write_text("x")
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def host(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, host)
    try:
        with io.atomic_path(tmp_path / "y") as tmp:
            assert signal.getsignal(signal.SIGTERM) is host
            tmp.write_text("y")
        assert signal.getsignal(signal.SIGTERM) is host
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert (tmp_path / "x").read_text() == "x" and (tmp_path / "y").read_text() == "y"
