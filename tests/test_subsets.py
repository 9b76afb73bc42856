import numpy as np
import pytest
from aeclust.subsets import SubsetSpec, draw_replicate, draw_seed, holdout_split, load_pool, make_subsets, split_of


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


# ---- the pool: MNIST's IDX files or a user's imported images, one function -------------------


def write_idx(path, array: np.ndarray) -> None:
    """An IDX file of uint8 values (MNIST's format: magic 0x0000 08 ndim, big-endian sizes)."""
    head = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(head + array.astype(np.uint8).tobytes())


SETTINGS = {
    "seed": 0,
    "per_replicate": True,
    "cluster": {"split": "test", "per_class": 2},
    "train": {"split": "train", "per_class": 3, "exclude_cluster": True},
}


def test_pool_of_idx_files_is_train_then_test(tmp_path):
    rng = np.random.default_rng(0)
    parts = {}
    for split, n in (("train", 50), ("t10k", 30)):
        parts[split] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n) % 10
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", parts[split][0])
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte", parts[split][1])
    files = [tmp_path / f"{s}-{k}-idx{d}-ubyte" for s in ("train", "t10k") for k, d in (("images", 3), ("labels", 1))]
    pool = load_pool(idx=files)
    assert pool.n_train == 50 and pool.n_classes == 10 and len(pool.labels) == 80 and pool.extra == {}
    assert np.array_equal(pool.images[50:], parts["t10k"][0]) and np.array_equal(pool.labels[:50], parts["train"][1])
    assert pool.source[0] == "train-images-idx3-ubyte[0]" and pool.source[51] == "t10k-images-idx3-ubyte[1]"
    subsets = draw_replicate(pool, SETTINGS, replicate=1)
    drawn = make_subsets(pool.images, pool.labels, 50, SubsetSpec("test", 2), SubsetSpec("train", 3), [0, 1])
    for name, idx in drawn.items():
        arrays = subsets[name]
        assert set(arrays) == {"images", "labels", "split", "index", "source"}
        assert np.array_equal(arrays["images"], pool.images[idx]) and np.array_equal(arrays["source"], pool.source[idx])
    assert (subsets["cluster"]["split"] == "test").all() and subsets["cluster"]["index"].max() < 30
    with pytest.raises(ValueError, match="not both or neither"):
        load_pool()


def test_pool_of_imported_images_holdout_or_own_split_and_deskew(tmp_path):
    from aeclust.io import save_npz
    from aeclust.preprocess import deskew

    rng = np.random.default_rng(1)
    labels = np.repeat([0, 1, 2], 8)
    data = {
        "images": rng.integers(0, 256, (24, 12, 12), dtype=np.uint8),
        "labels": labels,
        "label_names": np.array(["a", "b", "c"]),
        "source": np.array([f"{i}.png" for i in range(24)]),
    }
    save_npz(tmp_path / "images.npz", **data)
    pool = load_pool(images=tmp_path / "images.npz", holdout=0.25, seed=0)
    assert pool.n_train == 18 and pool.n_classes == 3 and pool.note == "24 images: 18 train, 6 test (holdout 0.25)"
    assert np.array_equal(pool.extra["label_names"], data["label_names"])
    test_sources = set(pool.source[18:])
    split = holdout_split(labels, 0.25, seed=0)
    assert test_sources == set(data["source"][split == "test"])
    before = pool.images.copy()
    subsets = draw_replicate(pool, SETTINGS, replicate=0, deskew=True)
    assert np.array_equal(pool.images, before)  # the pool is left as it is
    for arrays in subsets.values():
        idx = np.array([np.flatnonzero(pool.source == s)[0] for s in arrays["source"]])
        assert np.array_equal(arrays["images"], deskew(pool.images[idx]))
        assert np.array_equal(arrays["label_names"], data["label_names"])
    save_npz(tmp_path / "own.npz", **data, split=np.array(["test", "train"] * 12))
    own = load_pool(images=tmp_path / "own.npz", holdout=0.5)  # the data's own split wins
    assert own.n_train == 12 and own.note.endswith("(the array's split)")
    assert list(own.source[:2]) == ["1.png", "3.png"]
