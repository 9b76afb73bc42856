"""Config validation: a wrong value fails before any job runs, naming the key and what is allowed."""

import pytest

from conftest import overlay, snakemake

CASES = [
    ("dataset: cifar", "dataset: 'cifar' is not described under datasets (known: fashion-mnist, mnist)"),
    ("autoencoder: {epochs: [-5]}", "config error at autoencoder/epochs/0: -5 is less than the minimum of 1"),
    ("autoencoder: {epochs: []}", "config error at autoencoder/epochs: [] should be non-empty"),
    ("pca: {components: 65}", "pca/components: 65 components is more than the embedding allows (allowed: 1..64)"),
    ("pca: {sweep: [2, 128]}", "pca/sweep: 128 components is more than the embedding allows (allowed: 1..64)"),
    ("subsets: {cluster: {split: test, per_class: 900}}", "subsets/cluster/per_class: 900 is more than the test split holds for every class (allowed: 1..892)"),
    ("subsets: {train: {split: test, per_class: 890}}", "subsets/train/per_class: 890 is more than the test split holds for every class (allowed: 1..882)"),
    ("kmeans: {n_init: 0}", "config error at kmeans/n_init: 0 is less than the minimum of 1"),
    ("kmeans: {n_inits: 3}", "config error at kmeans: Additional properties are not allowed ('n_inits' was unexpected)"),
    ("seeds: 3", "config error at seeds: 3 is not of type 'array'"),
    ("device: gpu", "config error at device: 'gpu' is not one of ['auto', 'cpu', 'cuda']"),
    ("pca: {epochs: [7]}", "pca/epochs: [7] not in autoencoder/epochs [1, 2]"),
    ("subsets: {train: {split: test, exclude_cluster: false}}", "denoise/enabled: de-noisers are scored on the clustering images, which may be training images"),
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
    assert jobs["download_dataset"] == 1 and jobs["make_subsets"] == 3 and jobs["pca_sweep"] == 1  # a draw per replicate
