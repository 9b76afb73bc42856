import numpy as np
import pytest
from aeclust.subsets import SubsetSpec, draw_seed, make_subsets, split_of


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    n_train, n_test = 600, 300
    labels = np.concatenate([np.repeat(np.arange(10), 60), np.repeat(np.arange(10), 30)])
    rng.shuffle(labels[:n_train])
    images = rng.integers(0, 255, (n_train + n_test, 28, 28), dtype=np.uint8)
    return images, labels, n_train


def test_stratified_disjoint_deterministic(data):
    images, labels, n_train = data
    a = make_subsets(images, labels, n_train, SubsetSpec("test", 5), SubsetSpec("train", 20), seed=3)
    b = make_subsets(images, labels, n_train, SubsetSpec("test", 5), SubsetSpec("train", 20), seed=3)
    c = make_subsets(images, labels, n_train, SubsetSpec("test", 5), SubsetSpec("train", 20), seed=4)
    assert np.array_equal(a["cluster"], b["cluster"]) and np.array_equal(a["train"], b["train"])
    assert not np.array_equal(a["train"], c["train"])
    assert np.bincount(labels[a["cluster"]]).tolist() == [5] * 10
    assert np.bincount(labels[a["train"]]).tolist() == [20] * 10
    assert (a["cluster"] >= n_train).all() and (a["train"] < n_train).all()
    split, index = split_of(a["cluster"], n_train)
    assert set(split) == {"test"} and index.max() < 300


def test_same_split_is_disjoint(data):
    images, labels, n_train = data
    s = make_subsets(images, labels, n_train, SubsetSpec("train", 30), SubsetSpec("train", 30), seed=0)
    assert len(np.intersect1d(s["cluster"], s["train"])) == 0
    with pytest.raises(ValueError, match=r"subsets.train.per_class: 31 .* holds only 30"):
        make_subsets(images, labels, n_train, SubsetSpec("train", 30), SubsetSpec("train", 31), seed=0)


def test_all_split_and_everything(data):
    images, labels, n_train = data
    s = make_subsets(
        images, labels, n_train, SubsetSpec("all", None), SubsetSpec("all", None), seed=0, exclude_cluster=False
    )
    assert len(s["cluster"]) == len(s["train"]) == len(labels)


def test_too_many_per_class(data):
    images, labels, n_train = data
    with pytest.raises(ValueError, match="subsets.cluster.per_class: 31 images of class"):
        make_subsets(images, labels, n_train, SubsetSpec("test", 31), SubsetSpec("train", 1), seed=0)


def test_each_replicate_draws_its_own_subsets_unless_fixed():
    rng = np.random.default_rng(0)
    labels = np.tile(np.arange(10), 60)
    images = rng.integers(0, 255, (600, 4, 4), dtype=np.uint8)
    n_train = 400
    spec = SubsetSpec("test", 5), SubsetSpec("train", 20)
    own = [make_subsets(images, labels, n_train, *spec, seed=draw_seed(0, r)) for r in (0, 1)]
    assert not np.array_equal(own[0]["cluster"], own[1]["cluster"])
    assert not np.array_equal(own[0]["train"], own[1]["train"])
    fixed = [make_subsets(images, labels, n_train, *spec, seed=draw_seed(7, r, per_replicate=False)) for r in (0, 1)]
    assert all(np.array_equal(fixed[0][k], fixed[1][k]) for k in ("cluster", "train"))
    assert np.array_equal(fixed[0]["cluster"], make_subsets(images, labels, n_train, *spec, seed=7)["cluster"])
