"""Shared fixtures: how tests run Snakemake on the tiny configuration."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The library of this checkout (it is not installed; jobs import it from beside their scripts).
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
SNAKEFILE = REPO / "Snakefile"
TINY = REPO / "config" / "tiny.yaml"
# The local MNIST mirror beside the checkout (CI lays ../shared beside the clone).
MIRROR = Path(os.environ.get("AECLUST_TEST_MIRROR", REPO.parent / "shared" / "data" / "mnist"))


def snakemake(
    workdir: Path,
    *args: str,
    configfile: Path | list[Path] | None = TINY,
    check: bool = True,
    timeout: float = 900,
    env: dict | None = None,
    snakefile: Path = SNAKEFILE,
) -> subprocess.CompletedProcess:
    """Run ``snakemake`` on this repository's Snakefile (or ``snakefile``) in ``workdir``; output captured as text.

    ``configfile``: one file or a list, later files overriding earlier ones (on top of the defaults).
    """
    cmd = [sys.executable, "-m", "snakemake", "-s", str(snakefile), "--directory", str(workdir)]
    if configfile is not None:
        files = configfile if isinstance(configfile, list) else [configfile]
        cmd += ["--configfile", *map(str, files)]
    full_env = {**os.environ, "AECLUST_MIRROR": str(MIRROR), **(env or {})}
    proc = _run_interruptible([*cmd, *args], timeout, full_env)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
        )
    return proc


def _run_interruptible(cmd: list[str], timeout: float, env: dict, grace: float = 60) -> subprocess.CompletedProcess:
    """subprocess.run(capture_output=True, text=True), but past ``timeout`` send SIGINT first:
    Snakemake then cancels its cluster jobs and removes incomplete outputs (SIGTERM alone does
    not stop its SLURM executor). SIGKILL only if it is still there ``grace`` seconds later."""
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, err = proc.communicate()
            raise AssertionError(
                f"timed out after {timeout}s, interrupted: {' '.join(cmd[3:])}\n{out[-4000:]}\n{err[-6000:]}"
            ) from None
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def blob_images(n: int = 64, seed: int = 0):
    """uint8 [n, 28, 28] images of white squares at seeded places: structure a network can learn."""
    import torch

    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 28, 28, dtype=torch.uint8)
    for i in range(n):
        r, c = torch.randint(4, 20, (2,), generator=g).tolist()
        x[i, r : r + 6, c : c + 6] = 255
    return x


def dry_run_jobs(workdir: Path, *args: str, configfile: Path | list[Path] | None = TINY, **kw) -> dict[str, int]:
    """Rule name -> number of jobs a dry run would execute (``kw``: more arguments of ``snakemake``)."""
    out = snakemake(
        workdir, "-n", *args, "--quiet", "rules", configfile=configfile, **kw
    ).stdout  # targets before --quiet's list
    jobs: dict[str, int] = {}
    started = False
    for line in out.splitlines():
        parts = line.split()
        if parts[:2] == ["job", "count"]:
            started = True
            continue
        if started and len(parts) == 2 and parts[1].isdigit() and parts[0] != "total":
            jobs[parts[0]] = int(parts[1])
    return jobs


def overlay(tmp_path: Path, text: str, base: Path = TINY) -> list[Path]:
    """Config files: ``base`` plus a YAML overlay written from ``text``."""
    extra = tmp_path / f"overlay{len(list(tmp_path.glob('overlay*')))}.yaml"
    extra.write_text(text)
    return [base, extra]


# CI (.ci/run) sets this: there a missing mirror fails the tests that need it instead of skipping them.
REQUIRE_MIRROR = "AECLUST_REQUIRE_MIRROR"


def mirror_missing() -> str | None:
    """Why the local MNIST mirror cannot be used here, or None when it can."""
    if (MIRROR / "SHA256SUMS").is_file():
        return None
    return (
        f"no local MNIST mirror at {MIRROR} (lay shared/data/mnist beside the checkout, "
        "or point AECLUST_TEST_MIRROR at one)"
    )


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The local MNIST mirror. Without one the test skips, saying why; with
    AECLUST_REQUIRE_MIRROR=1 (CI) it fails instead."""
    why = mirror_missing()
    if why:
        if os.environ.get(REQUIRE_MIRROR) == "1":
            pytest.fail(f"{REQUIRE_MIRROR}=1 but {why}")
        pytest.skip(why)
    return MIRROR


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, mirror) -> Path:
    """The whole tiny DAG, run once per test session; returns its working directory."""
    workdir = tmp_path_factory.mktemp("tiny")
    snakemake(workdir, "--cores", "2")
    return workdir


@pytest.fixture(scope="session")
def tiny_results(tiny_run) -> Path:
    return tiny_run / "results" / "mnist" / "tiny"


def result_files(results: Path) -> list[Path]:
    """Every number a run reports (metrics, confusion matrices, summary, sweep), relative to ``results``."""
    top = ("metrics", "summary.csv", "summary.md", "pca_sweep.csv")
    files = [p.relative_to(results) for p in results.rglob("*") if p.is_file() and p.suffix in (".json", ".csv", ".md")]
    return sorted(p for p in files if p.parts[0] in top)


def assert_same_numbers(results: Path, reference: Path) -> None:
    """Two runs' result folders report the same numbers, byte for byte (JSON files: the
    same values, leaving out the provenance of the code that made them)."""
    import filecmp
    import json

    names = result_files(reference)
    assert names and result_files(results) == names, (result_files(results), names)

    def same(n: Path) -> bool:
        if n.suffix == ".json":  # the numbers; not which code made them (provenance: commit, file hashes)
            a, b = (json.loads(p.read_text()) for p in (results / n, reference / n))
            if isinstance(a, dict) and isinstance(b, dict):
                a.pop("provenance", None), b.pop("provenance", None)
            return a == b
        return filecmp.cmp(results / n, reference / n, shallow=False)

    different = [str(n) for n in names if not same(n)]
    assert not different, f"differ from the reference run: {different}"
