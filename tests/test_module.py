"""aeclust as a Snakemake module of another workflow, deployed from a clone of this
repository (its committed code) in a temporary folder: the tiny DAG run through a host
Snakefile reports the same numbers as a direct run, every job imports the clone's
library, and nothing of aeclust leaks into the host's environment."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from conftest import REPO, TINY, assert_same_numbers

# Variables a workflow could be tempted to set at parse time; the host must see none of
# aeclust's values (OpenMP settings reach jobs in script_setup, the mirror through config).
WATCHED = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY", "OMP_NUM_THREADS", "PYTHONPATH", "AECLUST_MIRROR")

HOST_SNAKEFILE = """\
import json
import os

configfile: "config.yaml"


module aeclust:
    snakefile: {snakefile!r}
    config: config


use rule * from aeclust


# What the host's own code sees once aeclust is parsed, and what its own jobs see.
PARSE_ENV = {{k: os.environ.get(k) for k in {watched!r}}}


rule host_env:
    output: "host_env.json"
    run:
        with open(output[0], "w") as f:
            json.dump({{"parse": PARSE_ENV, "run": {{k: os.environ.get(k) for k in PARSE_ENV}}}}, f)
"""

# Each job of the clone appends the path of the aeclust it imported (a line added to the
# clone's __init__.py, which lib() does not track and which holds no numbers).
IMPORT_PROBE = """
import os as _os

if _os.environ.get("AECLUST_TEST_IMPORTS"):
    with open(_os.environ["AECLUST_TEST_IMPORTS"], "a") as _f:
        _f.write(__file__ + "\\n")
"""


def clone(dest: Path) -> Path:
    """``git clone`` of this repository: what is committed, not the working tree."""
    subprocess.run(["git", "clone", "-q", str(REPO), str(dest)], check=True, capture_output=True, timeout=120)
    return dest


def host(folder: Path, snakefile: Path, mirror: Path) -> Path:
    """A host workflow in ``folder`` that uses aeclust's ``snakefile`` as a module, with
    config/tiny.yaml (and the local mirror) as its own config file."""
    folder.mkdir(parents=True)
    cfg = yaml.safe_load(TINY.read_text())
    cfg["mirror"] = str(mirror)
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    (folder / "Snakefile").write_text(HOST_SNAKEFILE.format(snakefile=str(snakefile), watched=WATCHED))
    return folder / "Snakefile"


def host_env() -> dict:
    """The test's environment without aeclust's variables: what a host starts with."""
    env = {k: v for k, v in os.environ.items() if k not in WATCHED}
    env["AECLUST_MIRROR"] = ""  # set but empty: the config's `mirror:` must still be used
    return env


def run_host(folder: Path, *args: str, env: dict, timeout: float = 1200) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", *args], cwd=folder, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, (
        f"host snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    )
    return proc


def test_no_aeclust_installed():
    """Jobs can only import the library from beside their scripts (the module's clone)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = "import importlib.util, sys; print(importlib.util.find_spec('aeclust'))"
    proc = subprocess.run([sys.executable, "-c", code], cwd="/", env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "None", proc.stdout


@pytest.mark.e2e
def test_host_parse_leaves_its_environment_alone(tmp_path, mirror):
    """A host rule, run after aeclust was parsed, sees the host's own environment, unchanged."""
    repo = clone(tmp_path / "aeclust")
    folder = tmp_path / "host"
    host(folder, repo / "workflow" / "Snakefile", mirror)
    env = {**host_env(), "OMP_NUM_THREADS": "3"}  # one the host set itself stays as it was
    run_host(folder, "--cores", "1", "host_env.json", env=env, timeout=300)
    seen = json.loads((folder / "host_env.json").read_text())
    expected = {k: env.get(k) for k in WATCHED}
    assert seen == {"parse": expected, "run": expected}


@pytest.mark.e2e
def test_module_dry_run_tracks_the_clones_library(tmp_path, mirror):
    repo = clone(tmp_path / "aeclust")
    folder = tmp_path / "host"
    host(folder, repo / "workflow" / "Snakefile", mirror)
    out = run_host(folder, "-n", "--forceall", env=host_env(), timeout=300).stdout
    assert "rule all:" in out  # the module's `all` is the host's default target
    files = [
        f.removesuffix(" (cached)")
        for line in out.splitlines()
        if line.strip().startswith("input:")
        for f in line.split(": ", 1)[1].split(", ")
    ]
    code = [f for f in files if "/aeclust/" in f and f.endswith(".py")]
    assert code and all(f.startswith(str(repo / "workflow")) for f in code), code[:5]
    assert not (folder / "results").exists()


@pytest.mark.e2e
def test_module_run_equals_direct_run(tmp_path, tiny_results, mirror):
    """The tiny DAG through the host (with AECLUST_MIRROR="" and the mirror in the host's
    config) gives the direct run's numbers byte for byte; each job imported the clone's
    library; the report builds in the host's folder."""
    repo = clone(tmp_path / "aeclust")
    with open(repo / "workflow" / "scripts" / "aeclust" / "__init__.py", "a") as f:
        f.write(IMPORT_PROBE)
    folder = tmp_path / "host"
    host(folder, repo / "workflow" / "Snakefile", mirror)
    imports = tmp_path / "imports.txt"
    run_host(folder, "--cores", "2", env={**host_env(), "AECLUST_TEST_IMPORTS": str(imports)})

    results = folder / "results" / "mnist" / "tiny"
    assert_same_numbers(results, tiny_results)
    log = (results / "logs" / "download_dataset.log").read_text()
    assert f"mirrors, in order: {mirror}," in log, log  # from the host's config, despite AECLUST_MIRROR=""
    paths = imports.read_text().splitlines()
    assert len(paths) >= 60 and {os.path.realpath(p) for p in paths} == {
        str(repo / "workflow" / "scripts" / "aeclust" / "__init__.py")
    }

    run_host(folder, "--report", "report.html", env=host_env(), timeout=600)
    assert (folder / "report.html").stat().st_size > 100_000
    shutil.rmtree(repo)  # nothing of the module's checkout is needed past this point


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(folder: Path):
    """``folder`` over HTTP on loopback (Python's http.server); yields its address."""
    port = free_port()
    cmd = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port), "--directory", str(folder)]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/workflow/Snakefile", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


# One seed's clusterings, each through a different part of the library (pixels, the
# autoencoder, UMAP and the mixture): enough to show the jobs run from the URL, short
# enough for a test.
URL_TARGETS = [f"metrics/{m}_s0.json" for m in ("kmeans/raw", "kmeans/ae_e2", "gmm/ae_e2_umap")]


@pytest.mark.e2e
def test_module_from_a_url(tmp_path, tiny_results, mirror):
    """A host whose module is an http:// address (what github(...) and snakedeploy
    give): the workflow parses, its jobs import the library fetched with their scripts
    (never a local checkout), the numbers equal the direct run's, a rerun is a no-op and
    an edited module makes exactly its users stale."""
    repo = clone(tmp_path / "aeclust")
    with open(repo / "workflow" / "scripts" / "aeclust" / "__init__.py", "a") as f:
        f.write(IMPORT_PROBE)
    folder = tmp_path / "host"
    imports = tmp_path / "imports.txt"
    results = "results/mnist/tiny"
    with served(repo) as url:
        host(folder, f"{url}/workflow/Snakefile", mirror)
        env = {**host_env(), "AECLUST_TEST_IMPORTS": str(imports)}
        run_host(folder, "--cores", "2", *(f"{results}/{t}" for t in URL_TARGETS), env=env)
        for t in URL_TARGETS:
            got, want = (json.loads((root / t).read_text()) for root in (folder / results, tiny_results))
            got.pop("provenance", None), want.pop("provenance", None)
            assert got == want, t
        paths = {os.path.realpath(p) for p in imports.read_text().splitlines()}
        assert paths and not any(p.startswith(str(tmp_path)) for p in paths), paths  # the fetched copy

        def dry_run() -> dict[str, int]:
            """Rule -> jobs a dry run would execute (the targets before --quiet's list)."""
            args = (*(f"{results}/{t}" for t in URL_TARGETS), "-n", "--quiet", "rules")
            out = run_host(folder, *args, env=host_env(), timeout=300).stdout
            rows = [line.split() for line in out.splitlines()]
            start = next((i for i, r in enumerate(rows) if r[:2] == ["job", "count"]), len(rows))
            return {r[0]: int(r[1]) for r in rows[start:] if len(r) == 2 and r[1].isdigit() and r[0] != "total"}

        assert dry_run() == {}  # a no-op: the tracked copies of the library did not move
        metrics = repo / "workflow" / "scripts" / "aeclust" / "metrics.py"
        metrics.write_text(metrics.read_text() + "\n# an edit\n")
        assert dry_run() == {"align_clusters": len(URL_TARGETS)}  # only the rule that runs metrics.py


@pytest.mark.e2e
def test_snakedeploy_from_a_local_clone(tmp_path, mirror):
    """`snakedeploy deploy-workflow` works offline from a local clone except for one line:
    it writes the module's path as `workflow/Snakefile`, relative to the new folder, where
    no such file is (it builds real paths only for GitHub/GitLab sources). The README says
    so and gives the fix, which this test applies: then the deployment plans the DAG."""
    pytest.importorskip("snakedeploy", reason="snakedeploy is in the dev extra: pip install -e '.[dev]'")
    repo = clone(tmp_path / "aeclust")
    branch = subprocess.run(
        ["git", "-C", str(repo), "rev-parse", "--abbrev-ref", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    dest = tmp_path / "deployed"
    tool = shutil.which("snakedeploy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    assert tool, "snakedeploy is installed but its command is not on PATH"
    proc = subprocess.run(
        [tool, "deploy-workflow", str(repo), str(dest), "--branch", branch, "--name", "aeclust"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert (dest / "config" / "config.yaml").read_text() == (repo / "config" / "config.yaml").read_text()
    assert (dest / "profiles" / "slurm" / "config.yaml").is_file()
    snakefile = dest / "workflow" / "Snakefile"
    text = snakefile.read_text()
    assert '"workflow/Snakefile"' in text and not (dest / "workflow" / "workflow" / "Snakefile").exists(), text
    snakefile.write_text(text.replace('"workflow/Snakefile"', repr(str(repo / "workflow" / "Snakefile"))))
    out = run_host(
        dest, "-n", "--configfile", "config/tiny.yaml", "--config", f"mirror={mirror}", env=host_env(), timeout=300
    ).stdout
    assert "train_autoencoder" in out and "rule all:" in out


def test_module_use_documented():
    """docs/module.md (linked from the README) says how to use aeclust as a module, from a
    URL and from a clone, and how to deploy with snakedeploy."""
    assert "docs/module.md" in (REPO / "README.md").read_text()
    doc = (REPO / "docs" / "module.md").read_text()
    assert "snakedeploy deploy-workflow" in doc and "github(" in doc
    assert "module aeclust:" in doc and "use rule * from aeclust" in doc
