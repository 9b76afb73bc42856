"""The unit suite (`pytest -m "not e2e"`) starts no Snakemake: the guard of conftest.py fails a
test that does without the ``e2e`` marker."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO, _runs_snakemake, dry_run_jobs, refuse_snakemake_outside_e2e


def test_snakemake_command_lines_are_recognised():
    assert _runs_snakemake([sys.executable, "-m", "snakemake", "-n"])
    assert _runs_snakemake(["/opt/venv/bin/snakemake", "--lint"])
    assert _runs_snakemake("cd x && snakemake --cores 2")
    assert not _runs_snakemake([sys.executable, "-c", "print('snakemake is a word here')"])
    assert not _runs_snakemake(["git", "clone", "/tmp/snakemake-workflows/x", "y"])
    assert not _runs_snakemake("snakefmt --check workflow")


def test_an_unmarked_test_cannot_start_snakemake(tmp_path):
    with pytest.raises(pytest.fail.Exception, match="not marked e2e"):
        subprocess.run([sys.executable, "-m", "snakemake", "--version"], capture_output=True)
    with pytest.raises(pytest.fail.Exception, match="not marked e2e"):
        dry_run_jobs(tmp_path)
    with pytest.raises(pytest.fail.Exception, match="not marked e2e"):
        refuse_snakemake_outside_e2e("snakemake -n")
    # anything else runs as before
    assert subprocess.run([sys.executable, "-c", "print(1)"], capture_output=True, text=True).stdout == "1\n"


def test_asking_for_the_workflow_run_without_the_marker_is_refused_at_collection(tmp_path):
    (tmp_path / "test_x.py").write_text("def test_uses_the_run(tiny_run):\n    pass\n")
    (tmp_path / "conftest.py").write_text((REPO / "tests" / "conftest.py").read_text())
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not e2e", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode != 0, proc.stdout
    assert "not marked e2e: test_x.py::test_uses_the_run" in proc.stdout + proc.stderr, proc.stdout + proc.stderr
