"""Config validation: a wrong value fails before any job runs, naming the key and what is allowed."""

import pytest
from conftest import overlay, snakemake

CASES = [
    ("dataset: cifar", "dataset: 'cifar' is not described under datasets (known: fashion-mnist, mnist)"),
    ("autoencoder: {epochs: [-5]}", "config error at autoencoder/epochs/0: -5 is less than the minimum of 1"),
    ("autoencoder: {epochs: []}", "config error at autoencoder/epochs: [] should be non-empty"),
    ("pca: {components: 65}", "pca/components: 65 components is more than the embedding allows (allowed: 1..64)"),
    ("pca: {sweep: [2, 128]}", "pca/sweep: 128 components is more than the embedding allows (allowed: 1..64)"),
    (
        "subsets: {cluster: {split: test, per_class: 900}}",
        "subsets/cluster/per_class: 900 is more than the test split holds for every class (allowed: 1..892)",
    ),
    (
        "subsets: {train: {split: test, per_class: 890}}",
        "subsets/train/per_class: 890 is more than the test split holds for every class (allowed: 1..882)",
    ),
    ("kmeans: {n_init: 0}", "config error at kmeans/n_init: 0 is less than the minimum of 1"),
    (
        "kmeans: {n_inits: 3}",
        "config error at kmeans: Additional properties are not allowed ('n_inits' was unexpected)",
    ),
    ("seeds: 3", "config error at seeds: 3 is not of type 'array'"),
    ("device: gpu", "config error at device: 'gpu' is not one of ['auto', 'cpu', 'cuda']"),
    ("pca: {epochs: [7]}", "pca/epochs: [7] not in autoencoder/epochs [1, 2]"),
    (
        "subsets: {train: {split: test, exclude_cluster: false}}",
        "denoise/enabled: de-noisers are scored on the clustering images, which may be training images",
    ),
]


@pytest.mark.parametrize("text,message", CASES, ids=[c[0] for c in CASES])
def test_bad_config_fails_at_once(tmp_path, text, message):
    proc = snakemake(tmp_path, "-n", configfile=overlay(tmp_path, text), check=False)
    assert proc.returncode != 0
    assert message in proc.stderr + proc.stdout
    assert not (tmp_path / "results").exists() and not (tmp_path / "data").exists()


def test_default_config_builds_the_full_dag(tmp_path):
    from conftest import dry_run_jobs

    jobs = dry_run_jobs(tmp_path, configfile=None)
    # 2 epoch counts x 3 seeds; raw, ae5, ae20, ae20+pca32 x 3 seeds
    assert jobs["train_autoencoder"] == 6
    assert jobs["cluster_kmeans"] == 12
    assert jobs["train_classifier"] == 3
    assert (
        jobs["download_dataset"] == 1 and jobs["make_subsets"] == 3 and jobs["pca_sweep"] == 1
    )  # a draw per replicate


# --- --config as users type it (Snakemake hands nested values over as strings) ----------


def test_config_list_of_integers_on_the_command_line(tmp_path):
    from conftest import dry_run_jobs

    jobs = dry_run_jobs(tmp_path, "--config", "seeds=[0,1,2,3,4]")
    assert jobs["make_subsets"] == 5 and jobs["train_classifier"] == 5


def test_config_nested_key_on_the_command_line(tmp_path):
    from conftest import dry_run_jobs

    jobs = dry_run_jobs(tmp_path, "--config", 'kmeans={"n_init": 5}', 'download={"timeout": 31, "retries": 0}')
    assert jobs["cluster_kmeans"] == 10


def test_config_wrong_type_on_the_command_line_names_the_key(tmp_path):
    proc = snakemake(tmp_path, "-n", "--config", "seeds=[a]", check=False)
    assert proc.returncode != 0
    assert "config error at seeds/0: 'a' is not of type 'integer'" in proc.stderr + proc.stdout
    proc = snakemake(tmp_path, "-n", "--config", 'kmeans={"n_init": "five"}', check=False)
    assert "config error at kmeans/n_init: 'five' is not of type 'integer'" in proc.stderr + proc.stdout


@pytest.mark.e2e
def test_config_typed_values_equal_the_files(tiny_run):
    """--config values arrive as the same numbers as in the YAML file: the tiny run's own
    n_init (2), typed on the command line, changes no param and so reruns nothing."""
    from conftest import dry_run_jobs

    assert dry_run_jobs(tiny_run, "--config", 'kmeans={"n_init": 2}', "seeds=[0,1]") == {}
    assert dry_run_jobs(tiny_run, "--config", 'kmeans={"n_init": 3}')["cluster_kmeans"] == 10


# --- aeclust.config as library code --------------------------------------------------------

import copy  # noqa: E402

import yaml  # noqa: E402
from aeclust import config as cfgmod  # noqa: E402
from conftest import REPO  # noqa: E402

SCHEMA = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
DEFAULTS = yaml.safe_load((REPO / "config" / "config.yaml").read_text())


def test_coerce_strings_types_what_the_schema_says():
    given = {
        "seeds": ["0", "1", "2"],
        "kmeans": {"n_init": "5"},
        "download": {"timeout": "31", "retries": "0"},
        "autoencoder": {"lr": "1e-3", "epochs": ["5", "20"]},
        "experiment": "123",
        "denoise": {"rates": ["0.2", ".5"]},
    }
    out = cfgmod.coerce_strings(given, SCHEMA)
    assert out == {
        "seeds": [0, 1, 2],
        "kmeans": {"n_init": 5},
        "download": {"timeout": 31, "retries": 0},
        "autoencoder": {"lr": 0.001, "epochs": [5, 20]},
        "experiment": "123",
        "denoise": {"rates": [0.2, 0.5]},
    }
    assert type(out["seeds"][0]) is int and type(out["autoencoder"]["lr"]) is float
    assert given["seeds"] == ["0", "1", "2"]  # the input is not changed in place


def test_coerce_strings_leaves_what_does_not_read_as_the_type():
    given = {"seeds": ["a", "1.5"], "kmeans": {"n_init": "five"}, "device": "cuda", "unknown_key": "7"}
    assert cfgmod.coerce_strings(given, SCHEMA) == given  # validation then names the key
    assert cfgmod.coerce_strings(5, SCHEMA["properties"]["kmeans"]["properties"]["n_init"]) == 5


def test_coerce_strings_null_and_boolean():
    schema = {"type": "object", "properties": {"n": {"type": ["integer", "null"]}, "b": {"type": "boolean"}}}
    assert cfgmod.coerce_strings({"n": "null", "b": "True"}, schema) == {"n": None, "b": True}
    assert cfgmod.coerce_strings({"n": "12", "b": "yes"}, schema) == {"n": 12, "b": "yes"}


def test_semantic_errors_of_the_default_config_and_of_bad_ones():
    assert list(cfgmod.semantic_errors(DEFAULTS)) == []
    bad = copy.deepcopy(DEFAULTS)
    bad["pca"]["components"] = 65
    bad["umap"]["epochs"] = [7]
    assert list(cfgmod.semantic_errors(bad)) == [
        "pca/components: 65 components is more than the embedding allows (allowed: 1..64)",
        f"umap/epochs: [7] not in autoencoder/epochs {DEFAULTS['autoencoder']['epochs']}",
    ]
    other = copy.deepcopy(DEFAULTS)
    other["dataset"] = "cifar"
    assert list(cfgmod.semantic_errors(other)) == [
        "dataset: 'cifar' is not described under datasets (known: fashion-mnist, mnist)"
    ]


def test_key_path_and_rate_label():
    assert cfgmod.key_path(["seeds", 0]) == "seeds/0" and cfgmod.key_path([]) == "(top level)"
    assert [cfgmod.rate_label(r) for r in (0.2, 0.25, 0.5)] == ["0.2", "0.25", "0.5"]
