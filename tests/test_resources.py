"""Resources that follow the data: each heavy rule's mem_mb and runtime come from the
size of its input files (aeclust/resources.py), with the study's requests as floors."""

from __future__ import annotations

import re

import pytest
from aeclust import resources
from conftest import REPO

HEAVY = {
    "import_images",
    "make_subsets",
    "train_autoencoder",
    "train_classifier",
    "train_denoiser",
    "extract_embeddings",
    "evaluate_denoiser",
    "embed_umap",
    "reduce_pca",
    "cluster_kmeans",
    "cluster_gmm",
    "selflabel",
    "plot_cluster_grid",
    "plot_embeddings",
    "internal_criteria",
    "clusters_table",
    "plot_samples",
}


def test_small_inputs_ask_for_the_floor_and_large_ones_grow():
    for rule in HEAVY:
        n = resources.need(rule)
        assert resources.mem_mb(rule, 0) == n.floor_mb and resources.runtime(rule, 0) == n.floor_min
        assert resources.mem_mb(rule, 1.0) == n.floor_mb  # the study's sizes: what they always asked
        big = 10 * n.floor_mb / n.mb_per_input_mb  # well past the floor
        assert resources.mem_mb(rule, big) == pytest.approx(n.base_mb + n.mb_per_input_mb * big, abs=1)
        assert resources.mem_mb(rule, 2 * big) > resources.mem_mb(rule, big) > n.floor_mb
        assert isinstance(resources.mem_mb(rule, big), int) and isinstance(resources.runtime(rule, big), int)
    # training time grows with the epochs run
    long = 10_000
    assert resources.runtime("train_autoencoder", long, 80) > resources.runtime("train_autoencoder", long, 1)


def test_full_mnist_memory():
    """A whole MNIST (70,000 images, ~11 MB compressed): the clustering of pixels asks for
    more than the float64 copy of its 70,000 x 784 features that scikit-learn makes."""
    float64_mb = 70_000 * 784 * 8 / 1e6
    assert resources.mem_mb("cluster_kmeans", 11) > float64_mb


def test_unknown_rule_is_named():
    with pytest.raises(KeyError, match="no resource formula for rule 'nope'"):
        resources.mem_mb("nope", 1)


def test_every_heavy_rule_uses_its_own_formula():
    """In the rule files each heavy rule's mem_mb and runtime call the formula under the
    rule's own name; every formula belongs to a rule."""
    used = {}
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for m in re.finditer(r"^\s*rule (\w+):\n(.*?)(?=^\s*rule \w+:|\Z)", smk.read_text(), re.M | re.S):
            names = set(re.findall(r'(?:mem_mb|runtime)_of\(\s*"(\w+)"', m.group(2)))
            if names:
                used[m.group(1)] = names
    assert used.keys() == HEAVY == resources.RULES.keys(), used
    assert all(names == {rule} for rule, names in used.items()), used


def test_each_attempt_asks_for_more_time():
    """A resubmitted job (profiles/slurm retries once) gets its runtime times the attempt,
    small inputs and large; memory does not change with the attempt."""
    for size in (1.0, 5000.0):
        first = resources.runtime("train_autoencoder", size, 20)
        assert resources.runtime("train_autoencoder", size, 20, attempt=2) == 2 * first
    assert resources.runtime("selflabel", 1.0, attempt=1) == resources.need("selflabel").floor_min


def test_import_is_sized_by_its_images_not_its_files():
    """A folder's size on disk says nothing of the import's work: it is sized by the images
    decoded at the target size. 10M grey 32 x 32 images ask for more than the 27.5 GB that
    bench/scale.py projects for them; 100,000 ask for the floor."""
    ten_million = resources.import_mb(10_000_000, 32, 32, 1)
    assert ten_million == pytest.approx(10_000_000 * (1024 + resources.PER_IMAGE_BYTES) / 1e6)
    assert resources.mem_mb("import_images", ten_million) > 27_500
    assert resources.runtime("import_images", ten_million) > 120  # projected: about 2 h
    assert resources.mem_mb("import_images", resources.import_mb(100_000, 32, 32, 1)) == 4000
    assert resources.import_mb(10, 64, 64, 3) > resources.import_mb(10, 32, 32, 1)
