"""End to end on config/tiny.yaml: every target is made, from the real MNIST mirror,
and only stale outputs are ever rebuilt."""

import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from aeclust.imports import closure
from conftest import MIRROR, REPO, TINY, dry_run_jobs, overlay, snakemake

LIBRARY = REPO / "workflow" / "scripts" / "aeclust"


@pytest.mark.e2e
def test_every_target_made(tiny_run, tiny_results):
    # nothing left to do, and the targets of rule all exist
    assert dry_run_jobs(tiny_run) == {}
    summary = pd.read_csv(tiny_results / "summary.csv")
    assert set(summary["method"]) == {
        "kmeans/raw",
        "kmeans/ae_e1",
        "kmeans/ae_e2",
        "kmeans/ae_e2_pca8",
        "kmeans/ae_e2_umap",
        "gmm/ae_e2_umap",
        "selflabel/gmm_ae_e2_umap",
        "classifier",
    }
    assert (summary["seeds"] == 2).all()
    for _, row in summary.iterrows():  # each mean is the mean of that method's per-seed metric files
        algo, _, feat = row["method"].rpartition("/")
        files = (
            (tiny_results / "metrics" / algo).glob(f"{feat}_s*.json")
            if algo
            else (tiny_results / "metrics").glob(f"{feat}_s*.json")
        )
        accs = [json.loads(p.read_text())["accuracy"] for p in files]
        assert len(accs) == 2 and abs(row["accuracy_mean"] - np.mean(accs)) < 1e-12, row["method"]
    for name in (
        "kmeans_raw",
        "kmeans_ae_e1",
        "kmeans_ae_e2",
        "kmeans_ae_e2_pca8",
        "kmeans_ae_e2_umap",
        "gmm_ae_e2_umap",
    ):
        png = tiny_results / "figures" / "confusion" / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    sweep = pd.read_csv(tiny_results / "pca_sweep.csv")
    assert sorted(sweep["components"].unique()) == [2, 4, 8] and len(sweep) == 6
    assert "| K-Means on pixels (`kmeans/raw`) |" in (tiny_results / "summary.md").read_text()


def test_without_the_mirror_its_tests_skip_saying_why(tmp_path):
    """A fresh clone without ../shared: the tests that need the mirror skip with the reason;
    with AECLUST_REQUIRE_MIRROR=1 (CI) they fail instead."""
    tests = ["test_download.py::test_real_local_mirror", "test_workflow.py::test_data_rules_on_real_mirror"]
    env = {k: v for k, v in os.environ.items() if k != "AECLUST_REQUIRE_MIRROR"}
    env["AECLUST_TEST_MIRROR"] = str(tmp_path / "nowhere")

    def pytest_run(extra: dict) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *tests],
            cwd=REPO / "tests",
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
        )
        return proc.stdout

    out = pytest_run({})
    assert "2 skipped" in out and f"no local MNIST mirror at {tmp_path / 'nowhere'}" in out, out[-2000:]
    out = pytest_run({"AECLUST_REQUIRE_MIRROR": "1"})
    assert "2 error" in out and "AECLUST_REQUIRE_MIRROR=1 but no local MNIST mirror" in out, out[-2000:]


@pytest.mark.e2e
def test_download_uses_the_config_mirror_when_the_variable_is_empty(tmp_path, mirror):
    """AECLUST_MIRROR="" counts as unset: the config's `mirror:` is used (the dataset's own
    mirrors here are a port where nothing listens, so nothing else could serve the files)."""
    text = textwrap.dedent(f"""\
        mirror: {mirror}
        download: {{timeout: 1, retries: 0}}
        datasets: {{mnist: {{mirrors: ["http://127.0.0.1:9/"]}}}}
        """)
    target = "data/mnist/t10k-labels-idx1-ubyte"
    snakemake(tmp_path, "--cores", "1", target, configfile=overlay(tmp_path, text), env={"AECLUST_MIRROR": ""})
    log = (tmp_path / "results" / "mnist" / "tiny" / "logs" / "download_dataset.log").read_text()
    assert f"mirrors, in order: {mirror}, http://127.0.0.1:9/" in log, log
    sums = dict(
        line.split()[::-1] for line in (mirror / "SHA256SUMS").read_text().splitlines() if line and line[0] != "#"
    )
    assert hashlib.sha256((tmp_path / target).read_bytes()).hexdigest() == sums["t10k-labels-idx1-ubyte"]


@pytest.mark.e2e
def test_data_rules_on_real_mirror(tiny_run, tiny_results):
    data = tiny_run / "data" / "mnist"
    sums = dict(
        line.split()[::-1]
        for line in (MIRROR / "SHA256SUMS").read_text().splitlines()
        if line and not line.startswith("#")
    )
    for name, digest in sums.items():
        assert hashlib.sha256((data / name).read_bytes()).hexdigest() == digest
    assert not list(data.glob(".*"))  # no temporary files left behind
    with (
        np.load(tiny_results / "subsets" / "cluster_s0.npz") as c,
        np.load(tiny_results / "subsets" / "train_s0.npz") as t,
    ):
        assert np.bincount(c["labels"]).tolist() == [10] * 10
        assert np.bincount(t["labels"]).tolist() == [50] * 10
        assert set(c["split"]) == {"test"} and set(t["split"]) == {"train"}
        assert c["images"].shape == (100, 28, 28) and c["images"].dtype == np.uint8


@pytest.mark.e2e
def test_deskew_setting_straightens_the_same_drawn_images(tiny_run, tiny_results, tmp_path):
    """subsets.deskew changes the pixels (each image by its own moments), never which images are drawn."""
    from aeclust.preprocess import deskew

    target = "results/mnist/tiny-deskew/subsets/cluster_s0.npz"
    snakemake(
        tiny_run,
        "--cores",
        "1",
        target,
        configfile=overlay(tmp_path, "experiment: tiny-deskew\nsubsets: {deskew: true}"),
    )
    log = (tiny_run / "results/mnist/tiny-deskew/logs/make_subsets/s0.log").read_text()
    assert "deskewed and centred the 600 drawn images" in log  # 100 clustered + 500 training, not all 70,000
    with np.load(tiny_run / target) as d, np.load(tiny_results / "subsets" / "cluster_s0.npz") as raw:
        assert np.array_equal(d["index"], raw["index"]) and np.array_equal(d["labels"], raw["labels"])
        assert not np.array_equal(d["images"], raw["images"])
        assert np.array_equal(d["images"], deskew(raw["images"]))
    assert "deskewed" not in (tiny_results / "logs" / "make_subsets" / "s0.log").read_text()


@pytest.mark.e2e
def test_training_logs_and_settings(tiny_results):
    log = (tiny_results / "logs" / "train_autoencoder" / "e2_s0.log").read_text()
    assert "epoch 2/2 loss" in log and "samples/s" in log
    loss = pd.read_csv(tiny_results / "models" / "ae_e2_s0_loss.tsv", sep="\t")
    assert list(loss["epoch"]) == [1, 2] and (loss["samples_per_s"] > 0).all()
    settings = json.loads((tiny_results / "models" / "ae_e2_s0.json").read_text())
    assert settings["arch"] == "conv" and settings["seed"] == 0 and settings["epochs"] == 2
    assert not list((tiny_results / "models").glob("*.resume"))
    bench = pd.read_csv(tiny_results / "benchmarks" / "train_autoencoder" / "e2_s0.tsv", sep="\t")
    assert bench["s"].iloc[0] > 0


@pytest.mark.e2e
def test_pca_change_reruns_only_pca_and_downstream(tiny_run, tmp_path):
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "pca: {components: 4}"))
    assert jobs.keys() <= {
        "reduce_pca",
        "cluster_kmeans",
        "align_clusters",
        "plot_confusion",
        "plot_accuracy",
        "summarize",
        "clusters_table",
        "default",
    }
    assert jobs["reduce_pca"] == 2 and jobs["cluster_kmeans"] == 2


@pytest.mark.e2e
def test_kmeans_change_never_retrains(tiny_run, tmp_path):
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "kmeans: {n_init: 3}"))
    assert "train_autoencoder" not in jobs and "extract_embeddings" not in jobs and "reduce_pca" not in jobs
    assert jobs["cluster_kmeans"] == 10  # raw, ae_e1, ae_e2, ae_e2_pca8, ae_e2_umap x 2 seeds


@pytest.mark.e2e
def test_new_epoch_count_trains_only_new_models(tiny_run, tmp_path):
    jobs = dry_run_jobs(tiny_run, configfile=overlay(tmp_path, "autoencoder: {epochs: [1, 2, 3]}"))
    assert jobs["train_autoencoder"] == 2  # epoch count 3, for each of 2 seeds
    assert "train_classifier" not in jobs and "make_subsets" not in jobs


def _repo_copy(dest: Path) -> Path:
    """The checkout's workflow files copied with their times (copy2), so a run from the copy
    finds the tiny run's outputs as up to date as the checkout does; returns its Snakefile."""
    dest.mkdir(parents=True)
    for name in ("Snakefile", "workflow", "config"):
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dest / name)
    return dest / "Snakefile"


def _edit(path: Path) -> None:
    """A real edit (Snakemake ignores a newer mtime when the content is unchanged), an hour
    after now: newer than every output of the tiny run, however old the checkout's file is
    (an hour after the file's own mtime was older than the outputs in a checkout edited
    hours before the run, and the test failed there)."""
    st = path.stat()
    path.write_text(path.read_text() + "\n# an edit\n")
    os.utime(path, (st.st_atime, max(st.st_mtime, time.time()) + 3600))


@pytest.mark.e2e
def test_library_edit_marks_exactly_its_users_stale(tiny_run, tmp_path):
    """Edits go to a copy of the workflow, never to the checkout. The runs from the copy
    leave out the `input` trigger (the copy's library files have other paths than the
    ones recorded); the mtime trigger with checksums decides."""
    snakefile = _repo_copy(tmp_path / "repo")
    args = ("--rerun-triggers", "mtime", "params", "code", "software-env")
    assert dry_run_jobs(tiny_run, *args, snakefile=snakefile) == {}  # the copy alone changes nothing

    _edit(tmp_path / "repo" / "workflow" / "scripts" / "aeclust" / "summary.py")
    assert dry_run_jobs(tiny_run, *args, snakefile=snakefile) == {"summarize": 1, "default": 1}

    _edit(tmp_path / "repo" / "workflow" / "scripts" / "aeclust" / "models.py")
    jobs = dry_run_jobs(tiny_run, *args, snakefile=snakefile)
    assert jobs["train_autoencoder"] == 4 and jobs["train_classifier"] == 2 and jobs["train_denoiser"] == 2
    assert "download_dataset" not in jobs and "make_subsets" not in jobs


@pytest.mark.e2e
def test_how_bytes_are_fetched_never_invalidates(tiny_run, tmp_path):
    """download.timeout / retries and the mirrors list say how the files are fetched, their
    SHA-256 what they are: changing them schedules nothing."""
    for text in (
        "download: {timeout: 31}",
        "download: {retries: 5}",
        "datasets: {mnist: {mirrors: ['https://example.org/mnist/']}}",
        "mirror: /elsewhere",
    ):
        assert dry_run_jobs(tiny_run, configfile=overlay(tmp_path, text)) == {}, text
    # what the files are still counts
    jobs = dry_run_jobs(
        tiny_run,
        configfile=overlay(tmp_path, "datasets: {mnist: {sha256: {t10k-labels-idx1-ubyte: '" + "0" * 64 + "'}}}"),
    )
    assert jobs.get("download_dataset") == 1


@pytest.mark.e2e
def test_key_order_of_a_config_file_changes_nothing(tiny_run, tmp_path):
    """Snakemake compares dict params in order; the workflow puts every mapping in
    config/config.yaml's order, so a file written in another order reruns nothing."""
    import yaml

    def reverse(d):
        return {k: reverse(v) for k, v in reversed(d.items())} if isinstance(d, dict) else d

    reordered = tmp_path / "reordered.yaml"
    reordered.write_text(yaml.safe_dump(reverse(yaml.safe_load(TINY.read_text())), sort_keys=False))
    assert reordered.read_text() != TINY.read_text()
    assert dry_run_jobs(tiny_run, configfile=reordered) == {}


# --- each rule tracks the library code its script runs ---------------------------------


def _rules() -> dict[str, str]:
    """Rule name -> the rule's text, from workflow/rules/*.smk."""
    found = {}
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        found.update(re.findall(r"^rule (\w+):\n(.*?)(?=^\S|\Z)", smk.read_text(), re.M | re.S))
    return found


def read_library(name: str) -> str | None:
    path = LIBRARY / f"{name}.py"
    return path.read_text() if path.is_file() else None


def script_runs(script: Path) -> set[str]:
    """The library files a script runs: its aeclust imports, followed through the library."""
    return {f"{m}.py" for m in closure(script.read_text(), read_library)}


# download_dataset tracks none on purpose: how the bytes are fetched never makes the data stale.
UNTRACKED = {"download_dataset"}


def _tracked_code(out: str) -> dict[str, set[str]]:
    """Rule -> the library files among its inputs, from the output of ``snakemake -n``."""
    tracked: dict[str, set[str]] = {}
    for block in re.split(r"\n(?=(?:local)?rule \w+:\n)", out)[1:]:
        rule = re.match(r"(?:local)?rule (\w+):", block).group(1)
        inputs = re.search(r"^\s+input: (.*)$", block, re.M)
        files = inputs.group(1).split(", ") if inputs else []
        tracked.setdefault(rule, set()).update(
            Path(f.removesuffix(" (cached)")).name for f in files if "/scripts/aeclust/" in f
        )
    return tracked


# A user's own images, unlabelled, with a held-out part and de-noising: the DAG of the rules
# that only own images have (import_images, internal_criteria, plot_cluster_grid).
OWN_IMAGES = """
dataset: shapes
datasets:
  shapes: {source: folder, path: shapes, labels: none, skip_unreadable: true, holdout: 0.25}
subsets:
  cluster: {split: test, per_class: null}
  train: {split: train, per_class: null, exclude_cluster: true}
kmeans: {k: 3}
denoise: {enabled: true}
"""


@pytest.mark.e2e
def test_every_rule_tracks_what_its_script_runs(tmp_path):
    """Each rule's code inputs, as Snakemake sees them, are what the rule's own script
    imports (lib_for names the script of its rule, and no rule lacks code inputs)."""
    from imagegen import make_folder

    # the code inputs Snakemake really has, per rule: dry runs of the whole tiny DAG on
    # MNIST and on a folder of one's own images ...
    dags = {"mnist": _tracked_code(snakemake(tmp_path / "mnist", "-n", "--forceall").stdout)}
    make_folder(tmp_path / "own" / "shapes", per_class=4, sub_folders=False)
    own = overlay(tmp_path, OWN_IMAGES)
    dags["own images"] = _tracked_code(snakemake(tmp_path / "own", "-n", "--forceall", configfile=own).stdout)
    assert {"import_images", "internal_criteria", "plot_cluster_grid", "evaluate_denoiser"} <= dags["own images"].keys()
    assert "train_classifier" not in dags["own images"]  # no labels: nothing needs it
    # ... against what each rule's script imports
    rules = {
        name: re.search(r'^\s+script:\n\s+"\.\./scripts/(\w+\.py)"', body, re.M) for name, body in _rules().items()
    }
    scripts = {name: m.group(1) for name, m in rules.items() if m}
    assert scripts.keys() - UNTRACKED >= {"train_autoencoder", "train_classifier", "summarize"}
    seen = set().union(*(d.keys() for d in dags.values()))
    assert scripts.keys() <= seen, scripts.keys() - seen  # every rule is in one of the two DAGs
    wrong = {}
    for dag, tracked in dags.items():
        for rule, script in scripts.items():
            if rule not in tracked:
                continue
            want = set() if rule in UNTRACKED else script_runs(REPO / "workflow" / "scripts" / script)
            if tracked[rule] != want:
                wrong[f"{rule} ({dag})"] = {
                    "missing": sorted(want - tracked[rule]),
                    "not run": sorted(tracked[rule] - want),
                }
    assert not wrong, f"code=lib_for(...) differs from what the scripts import: {wrong}"


# The target rules name what a run makes and run nothing themselves.
TARGET_RULES = {"all", "default"}


def _every_rule_text() -> dict[str, str]:
    """Rule name -> its body, from the Snakefiles and every .smk file, rules indented under
    an ``if`` (download_dataset, import_images) too; comments removed."""
    found = {}
    for smk in [REPO / "Snakefile", REPO / "workflow" / "Snakefile", *(REPO / "workflow" / "rules").glob("*.smk")]:
        text = re.sub(r"#.*", "", smk.read_text())
        found.update(
            (m.group(2), m.group(3)) for m in re.finditer(r"^( *)rule (\w+):\n((?:\1 +\S.*\n|[ \t]*\n)*)", text, re.M)
        )
    return found


@pytest.mark.e2e
def test_every_rule_declares_log_threads_and_resources(tmp_path):
    texts = _every_rule_text()
    # the parser misses no rule Snakemake sees (names start a line of --list-rules; docstrings are indented)
    listed = {ln.split()[0] for ln in snakemake(tmp_path, "--list-rules").stdout.splitlines() if ln[:1].strip()}
    assert {"download_dataset", "make_subsets", "summarize"} <= listed <= texts.keys(), listed - texts.keys()
    assert "import_images" in texts  # the other branch of data.smk's `if`
    missing = {}
    for rule, body in texts.items():
        if rule in TARGET_RULES:
            continue
        res = re.search(r"^(\s+)resources:\n((?:\1\s+.*\n)+)", body, re.M)
        lacks = [k for k in ("log", "threads") if not re.search(rf"^\s+{k}:", body, re.M)]
        lacks += [k for k in ("mem_mb", "runtime") if not res or not re.search(rf"\b{k}\s*=", res.group(2))]
        if lacks:
            missing[rule] = lacks
    assert not missing, f"rules without log:, threads: or resources mem_mb/runtime: {missing}"


def test_init_holds_no_code():
    """lib_for() leaves __init__.py out; safe while it holds only the docstring and the version."""
    body = ast.parse((LIBRARY / "__init__.py").read_text()).body
    assert [type(n).__name__ for n in body] == ["Expr", "Assign"]
    assert [t.id for t in body[1].targets] == ["__version__"]


@pytest.mark.e2e
def test_forcerun_one_rule(tiny_run):
    jobs = dry_run_jobs(tiny_run, "--forcerun", "pca_sweep")
    assert jobs == {"pca_sweep": 1, "summarize": 1, "default": 1}  # the summary checks the sweep's claim


@pytest.mark.e2e
def test_the_readme_picture_shows_the_default_runs_rules(tmp_path):
    """docs/rulegraph.svg (the README's picture) is the default run's rule graph: redraw it
    with `snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg` (docs/development.md)."""
    dot = snakemake(tmp_path, "--rulegraph", configfile=None).stdout
    rules = set(re.findall(r'label = "(\w+)"', dot))
    drawn = set(re.findall(r"<text[^>]*>(\w+)</text>", (REPO / "docs" / "rulegraph.svg").read_text()))
    assert rules >= {"train_autoencoder", "cluster_kmeans", "evaluate_denoiser", "default"}
    assert drawn == rules, f"missing: {sorted(rules - drawn)}, no longer run: {sorted(drawn - rules)}"
