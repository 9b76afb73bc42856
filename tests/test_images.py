"""A user's own images: readers, conversion, labels, provenance and every bad input the
issue lists (one line naming the file or setting)."""

from __future__ import annotations

import numpy as np
import pytest
from aeclust.images import ImageDataError, as_pool, holdout_split, read_array, read_folder
from aeclust.subsets import SubsetSpec, make_subsets
from imagegen import CLASSES, make_folder
from PIL import Image


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "shapes"
    truth = make_folder(root, per_class=6)
    return root, truth


def test_folder_with_class_sub_folders(folder):
    root, truth = folder
    data = read_folder(root, labels="folders", skip_unreadable=True)
    assert data.images.shape == (18, 3, 16, 16) and data.images.dtype == np.uint8  # some RGB: colour for all
    assert data.label_names == sorted(CLASSES)
    assert data.source == sorted(truth)  # every readable image once, by path relative to the folder
    assert [data.label_names[i] for i in data.labels] == [truth[s] for s in data.source]
    assert data.skipped and data.skipped[0][0] == "red/zz_broken.png"
    grey = data.images[data.source.index("blue/000.png")]  # a grey file: three equal channels
    assert np.array_equal(grey[0], grey[1]) and np.array_equal(grey[1], grey[2])
    rgb = np.asarray(Image.open(root / "red/001.png"))
    assert np.array_equal(data.images[data.source.index("red/001.png")], np.moveaxis(rgb, 2, 0))


def test_grey_conversion_size_and_no_labels(folder):
    root, truth = folder
    data = read_folder(root, labels="none", channels=1, image_size=[8, 12], skip_unreadable=True)
    assert data.images.shape == (18, 8, 12) and not data.labelled and (data.labels == -1).all()
    luma = np.asarray(Image.open(root / "red/001.png").convert("L").resize((12, 8), Image.Resampling.BILINEAR))
    # resized first, then to grey: within rounding of Pillow's own grey-then-resize
    assert np.abs(data.images[data.source.index("red/001.png")].astype(int) - luma).max() <= 2


def test_labels_from_csv(tmp_path):
    root = tmp_path / "flat"
    truth = make_folder(root, per_class=4, sub_folders=False, corrupt=False)
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label\n" + "".join(f"{f},{c}\n" for f, c in truth.items()))
    data = read_folder(root, labels="csv", labels_csv=csv)
    assert [data.label_names[i] for i in data.labels] == [truth[s] for s in data.source]
    csv.write_text("file,label\n" + "".join(f"{f},{c}\n" for f, c in list(truth.items())[1:]))
    with pytest.raises(ImageDataError, match=r"labels.csv: 1 images of .* have no label \(first: red_000.png\)"):
        read_folder(root, labels="csv", labels_csv=csv)
    csv.write_text("file,label\n" + "".join(f"{f},{c}\n" for f, c in truth.items()) + "ghost.png,red\n")
    with pytest.raises(
        ImageDataError, match=r"labels.csv: names 1 files that are not image files .* \(first: ghost.png\)"
    ):
        read_folder(root, labels="csv", labels_csv=csv)


def test_corrupt_file_is_named_unless_skipped(folder):
    root, _ = folder
    with pytest.raises(ImageDataError) as exc:
        read_folder(root, labels="folders")
    msg = str(exc.value)
    assert "zz_broken.png: not a readable image" in msg and "skip_unreadable: true" in msg and "\n" not in msg


def test_a_text_file_named_png_is_named(tmp_path):
    make_folder(tmp_path / "d", per_class=2, corrupt=False)
    (tmp_path / "d" / "red" / "notes.png").write_text("not an image")
    with pytest.raises(ImageDataError, match=r"notes.png: not a readable image \(cannot identify image file"):
        read_folder(tmp_path / "d", labels="folders")


def test_empty_and_unreadable_folders(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(ImageDataError, match=r"empty: no image files \(png, jpg"):
        read_folder(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    for i in range(3):
        (tmp_path / "bad" / f"{i}.png").write_bytes(b"\x89PNG garbage")
    with pytest.raises(ImageDataError, match=r"bad: none of its 3 image files could be read \(first: 0.png"):
        read_folder(tmp_path / "bad", skip_unreadable=True)
    with pytest.raises(ImageDataError, match=r"nowhere: no such folder \(datasets/images/path\)"):
        read_folder(tmp_path / "nowhere")


def test_sizes_differ_without_image_size(tmp_path):
    make_folder(tmp_path / "d", per_class=2, corrupt=False, sizes=(16, 20))
    with pytest.raises(
        ImageDataError,
        match=r"images of different sizes \(blue/000.png is 16x16, blue/001.png is 20x20, "
        r"height x width\); set datasets/mine/image_size",
    ):
        read_folder(tmp_path / "d", name="mine")
    assert read_folder(tmp_path / "d", image_size=16).images.shape[-2:] == (16, 16)


def test_single_class_and_flat_folder_with_folder_labels(tmp_path):
    make_folder(tmp_path / "d", per_class=3, corrupt=False)
    import shutil

    for cls in ("green", "blue"):
        shutil.rmtree(tmp_path / "d" / cls)
    with pytest.raises(ImageDataError, match=r"the labels name a single class \('red'\); clustering needs 2 or more"):
        read_folder(tmp_path / "d", labels="folders")
    make_folder(tmp_path / "flat", per_class=1, sub_folders=False, corrupt=False)
    with pytest.raises(ImageDataError, match=r"blue_000.png: not in a class sub-folder"):
        read_folder(tmp_path / "flat", labels="folders")


# ---- arrays --------------------------------------------------------------------------------


def test_arrays_npy_npz_and_channels(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (10, 9, 7), dtype=np.uint8)
    np.save(tmp_path / "g.npy", grey)
    data = read_array(tmp_path / "g.npy")
    assert np.array_equal(data.images, grey) and data.source[3] == "g.npy[3]" and not data.labelled
    colour = rng.random((6, 8, 8, 3)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2])
    np.savez(tmp_path / "c.npz", images=colour, labels=labels)
    data = read_array(tmp_path / "c.npz", labels="array")
    assert data.images.shape == (6, 3, 8, 8)
    assert np.array_equal(data.images, np.round(np.moveaxis(colour, 3, 1).astype(np.float64) * 255).astype(np.uint8))
    assert data.labels.tolist() == [0, 1, 2, 0, 1, 2] and data.label_names == ["0", "1", "2"]
    assert read_array(tmp_path / "c.npz", channels=1).images.shape == (6, 8, 8)
    np.save(tmp_path / "lab.npy", np.array(["cat", "dog"] * 5))
    assert read_array(tmp_path / "g.npy", labels="array", labels_path=tmp_path / "lab.npy").label_names == [
        "cat",
        "dog",
    ]


@pytest.mark.parametrize(
    "array,message",
    [
        (np.zeros((4, 8)), r"images have shape \[4, 8\] \(expected \[N, H, W\] or \[N, H, W, C\] with C 1, 3 or 4\)"),
        (np.zeros((4, 8, 8, 2)), r"images have shape \[4, 8, 8, 2\]"),
        (np.array([[["a"]]]), r"images have dtype <U1 \(expected numbers"),
        (
            np.where(np.arange(128).reshape(2, 8, 8) == 70, np.nan, 0.5),
            r"1 NaN or infinite values \(first in image 1\)",
        ),
        (np.where(np.arange(128).reshape(2, 8, 8) == 3, np.inf, 0.5), r"1 NaN or infinite values \(first in image 0\)"),
    ],
)
def test_bad_arrays(tmp_path, array, message):
    np.save(tmp_path / "x.npy", array)
    with pytest.raises(ImageDataError, match=r"x.npy: " + message):
        read_array(tmp_path / "x.npy")


def test_bad_array_labels(tmp_path):
    np.savez(tmp_path / "x.npz", images=np.zeros((4, 8, 8)), labels=np.arange(3))
    with pytest.raises(ImageDataError, match=r"x.npz: labels have shape \[3\] \(expected \[4\], one per image\)"):
        read_array(tmp_path / "x.npz", labels="array")
    np.savez(tmp_path / "y.npz", images=np.zeros((4, 8, 8)), labels=np.zeros(4))
    with pytest.raises(ImageDataError, match=r"y.npz: the labels name a single class"):
        read_array(tmp_path / "y.npz", labels="array")
    (tmp_path / "z.npy").write_bytes(b"not numpy")
    with pytest.raises(ImageDataError, match=r"z.npy: not a readable .npy/.npz array"):
        read_array(tmp_path / "z.npy")


# ---- the pool make_subsets draws from ---------------------------------------------------------


def test_holdout_is_stratified_seeded_and_feeds_make_subsets():
    labels = np.repeat([0, 1, 2], 20)
    split = holdout_split(labels, 0.25, seed=0)
    assert [(split[labels == c] == "test").sum() for c in range(3)] == [5, 5, 5]
    assert np.array_equal(split, holdout_split(labels, 0.25, seed=0))
    assert not np.array_equal(split, holdout_split(labels, 0.25, seed=1))
    data = {
        "images": np.arange(60, dtype=np.uint8)[:, None, None] * np.ones((1, 4, 4), np.uint8),
        "labels": labels,
        "source": np.array([f"f{i}.png" for i in range(60)]),
    }
    pool, n_train = as_pool(data, split)
    assert n_train == 45 and (pool["split"][:45] == "train").all()
    drawn = make_subsets(
        pool["images"], pool["labels"], n_train, SubsetSpec("test", None), SubsetSpec("train", 10), seed=0
    )
    assert set(pool["source"][drawn["cluster"]]) == set(data["source"][split == "test"])
    assert np.bincount(pool["labels"][drawn["train"]]).tolist() == [10, 10, 10]


def test_unlabelled_draws_are_plain_and_empty_splits_refused():
    labels = np.full(30, -1)
    images = np.zeros((30, 4, 4), np.uint8)
    drawn = make_subsets(images, labels, 30, SubsetSpec("all", 7), SubsetSpec("all", None), seed=0)
    assert len(drawn["cluster"]) == 7 and len(drawn["train"]) == 23
    with pytest.raises(ValueError, match=r"subsets.cluster.per_class: 40 images asked for, the split holds only 30"):
        make_subsets(images, labels, 30, SubsetSpec("all", 40), SubsetSpec("all", None), seed=0)
    with pytest.raises(ValueError, match=r"subsets.cluster: no images in split test \(train 30, test 0 images\)"):
        make_subsets(images, labels, 30, SubsetSpec("test", None), SubsetSpec("all", None), seed=0)


def test_fewer_images_than_clusters():
    from aeclust.cluster import kmeans
    from aeclust.manifold import gmm

    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"kmeans.k: 5 clusters for 3 images \(allowed: 2..3\)"):
        kmeans(x, 5, 1, 10, 0)
    with pytest.raises(ValueError, match=r"kmeans.k: 5 components for 3 images"):
        gmm(x, 5, "full", 1, 10, 0)
