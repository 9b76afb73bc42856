"""Shared fixtures: how tests run Snakemake on the tiny configuration."""

from __future__ import annotations

import os
import re
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


# The unit suite (`pytest -m "not e2e"`) starts no Snakemake: a test that does must carry the
# `e2e` marker (module-level `pytestmark = pytest.mark.e2e` where the whole file is end-to-end).
_current: dict[str, pytest.Item | None] = {"item": None}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _current["item"] = item
    try:
        return (yield)
    finally:
        _current["item"] = None


def _runs_snakemake(args) -> bool:
    """Whether a subprocess command line (a list, or one shell string) starts Snakemake."""
    if isinstance(args, (str, bytes, os.PathLike)):
        return bool(re.search(r"(^|[\s/])snakemake(\s|$)", os.fsdecode(args)))
    return any(os.path.basename(os.fsdecode(a)) == "snakemake" for a in args)


def refuse_snakemake_outside_e2e(args) -> None:
    """Fail the running test, loudly, when it starts Snakemake without the ``e2e`` marker."""
    item = _current["item"]
    if item is not None and item.get_closest_marker("e2e") is None and _runs_snakemake(args):
        pytest.fail(
            f"{item.nodeid} starts snakemake but is not marked e2e (add @pytest.mark.e2e, "
            "or pytestmark = pytest.mark.e2e for a whole file): the unit suite runs no workflow",
            pytrace=False,
        )


# Session fixtures that run the workflow: a test asking for one is end-to-end.
WORKFLOW_FIXTURES = {"tiny_run", "tiny_results"}


def pytest_collection_modifyitems(config, items):
    """A test that asks for a workflow run (``tiny_run``) without the ``e2e`` marker is an error
    at collection, before any test runs (the session fixture would otherwise run the whole DAG
    for the unit suite)."""
    unmarked = [
        item.nodeid
        for item in items
        if WORKFLOW_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("e2e") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests run the workflow (tiny_run/tiny_results) but are not marked e2e: " + ", ".join(unmarked)
        )


class _GuardedPopen(subprocess.Popen):
    def __init__(self, args, *a, **kw):
        refuse_snakemake_outside_e2e(args)
        super().__init__(args, *a, **kw)


@pytest.fixture(autouse=True, scope="session")
def _no_snakemake_outside_e2e():
    """Every subprocess of the test process (``subprocess.run``, ``Popen``, ``check_output``, the
    helpers below) goes through the guard; session-wide, so that session fixtures such as
    ``tiny_run`` are guarded for the test that first asks for them."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(subprocess, "Popen", _GuardedPopen)
        yield


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
    refuse_snakemake_outside_e2e(cmd)
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


def load_config(text: str = "", base: Path | None = TINY, user: dict | None = None, **kw) -> dict:
    """aeclust.config.load_config in this process, on what `snakemake --configfile BASE OVERLAY`
    hands over (``text``: the overlay's YAML); raises aeclust.config.ConfigError as the workflow
    would show it. ``user``: the user's layer when it is not all of the files (own-image defaults)."""
    import yaml
    from aeclust import config

    cfg = yaml.safe_load(base.read_text()) if base is not None else {}
    config.merge(cfg, yaml.safe_load(text) or {})
    return config.load_config(cfg, user, **kw)
