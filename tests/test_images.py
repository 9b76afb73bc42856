"""A user's own images: readers, conversion, labels, provenance and every bad input the
issue lists (one line naming the file or setting)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from aeclust.images import ImageDataError, read_array, read_folder
from aeclust.subsets import SubsetSpec, as_pool, holdout_split, make_subsets
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


def jpeg_bytes(width: int, height: int, seed: int = 0, quality: int = 90) -> bytes:
    """A smooth, photo-like JPEG (random colours on a coarse grid, upscaled, with fine noise)."""
    import io

    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    pixels = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC)).copy()
    pixels += rng.integers(0, 12, pixels.shape, dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_large_jpeg_is_decoded_reduced_and_close_to_a_full_decode(tmp_path):
    (tmp_path / "d").mkdir()
    for i in range(2):
        (tmp_path / "d" / f"{i}.jpg").write_bytes(jpeg_bytes(1600, 1200, seed=i))
    data = read_folder(tmp_path / "d", image_size=[24, 32], threads=2)
    assert data.images.shape == (2, 3, 24, 32)
    for i in range(2):
        with Image.open(tmp_path / "d" / f"{i}.jpg") as im:  # full decode, then the same resize
            full = np.asarray(im.convert("RGB").resize((32, 24), Image.Resampling.BILINEAR), dtype=int)
        diff = np.abs(np.moveaxis(data.images[i], 0, 2).astype(int) - full)
        assert diff.mean() < 1 and diff.max() <= 12, (diff.mean(), diff.max())


def test_large_jpegs_import_in_bounded_memory(tmp_path):
    """20 photos of 4000x3000 at 32x32: decoded fully and kept (as the import once did), they
    take 20 x 36 MB = 720 MB beside the interpreter's ~40 MB (that import peaked at 848 MB);
    imported file by file at a reduced JPEG scale, the peak stays near the interpreter's own
    (42 MB). Even full decodes, one per thread and none kept, would pass 200 MB."""
    import subprocess
    import sys

    folder = tmp_path / "photos"
    folder.mkdir()
    photos = [jpeg_bytes(4000, 3000, seed=s) for s in range(2)]
    for i in range(20):
        (folder / f"{i:02d}.jpg").write_bytes(photos[i % 2])
    scripts = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
    child = (
        f"import sys; sys.path.insert(0, {str(scripts)!r}); from aeclust.images import read_folder; "
        f"d = read_folder({str(folder)!r}, image_size=32, threads=2); print(d.images.shape)"
    )
    # a fresh wrapper process, so that its children are the import alone (any processes it starts included)
    wrapper = (
        "import resource, subprocess, sys; "
        f"out = subprocess.run([sys.executable, '-c', {child!r}], capture_output=True, text=True, check=True); "
        "print(out.stdout.strip()); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True)
    shape, peak_kb = out.stdout.split("\n")[:2]
    assert shape == "(20, 3, 32, 32)"
    assert int(peak_kb) / 1024 < 200, f"peak RSS {int(peak_kb) / 1024:.0f} MB"


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_images_above_max_pixels_are_refused_before_decoding(tmp_path):
    from PIL import Image as PILImage

    make_folder(tmp_path / "d", per_class=2, corrupt=False)
    PILImage.new("RGB", (3000, 2000), (10, 20, 30)).save(tmp_path / "d" / "red" / "huge.png")
    before = PILImage.MAX_IMAGE_PIXELS
    with pytest.raises(ImageDataError) as exc:
        read_folder(tmp_path / "d", labels="folders", max_pixels=5_000_000, name="mine", skip_unreadable=True)
    msg = str(exc.value)
    assert "red/huge.png: 3000x2000 pixels (6.0 megapixels), above datasets/mine/max_pixels = 5,000,000" in msg
    assert "\n" not in msg
    # far above the limit, Pillow's own decompression-bomb check (set from the limit) speaks first: same refusal
    with pytest.raises(ImageDataError, match=r"huge.png: more than 2,000,000 pixels \(Pillow's decompression-bomb"):
        read_folder(tmp_path / "d", labels="folders", max_pixels=1_000_000, skip_unreadable=True)
    assert PILImage.MAX_IMAGE_PIXELS == before  # Pillow's limit is the caller's again
    assert read_folder(tmp_path / "d", labels="folders", image_size=16).images.shape == (7, 3, 16, 16)
    with pytest.raises(ImageDataError, match=r"datasets/images/max_pixels: 0 \(expected a whole number >= 1\)"):
        read_folder(tmp_path / "d", max_pixels=0)


def test_threads_give_the_same_images(tmp_path):
    make_folder(tmp_path / "d", per_class=5, sizes=(16, 20))
    one = read_folder(tmp_path / "d", labels="folders", image_size=12, skip_unreadable=True, threads=1)
    two = read_folder(tmp_path / "d", labels="folders", image_size=12, skip_unreadable=True, threads=2)
    assert np.array_equal(one.images, two.images) and one.source == two.source and one.skipped == two.skipped


def test_file_names_that_are_not_utf8_are_kept_escaped(tmp_path):
    import os

    root = tmp_path / "d"
    make_folder(root, per_class=2, corrupt=False)
    raw = os.fsencode(root)
    os.mkdir(os.path.join(raw, b"caf\xe9"))  # a Latin-1 class folder and file name: bytes no UTF-8 decodes
    for name in (b"caf\xe9/\xe9t\xe9.png", b"caf\xe9/b.png"):
        Image.fromarray(np.full((16, 16), 7, np.uint8)).save(os.path.join(raw, name))
    data = read_folder(root, labels="folders")
    assert "caf\\xe9/\\xe9t\\xe9.png" in data.source and "caf\\xe9" in data.label_names
    assert all(s.encode("utf-8") for s in data.source + data.label_names)  # every name is plain text now
    arrays = data.arrays()
    assert arrays["source"].dtype.kind == "U"
    import pandas as pd
    from aeclust.io import save_table  # the last step, clusters.csv, writes them as they are

    save_table(tmp_path / "clusters.csv", pd.DataFrame({"source": data.source}))
    assert "caf\\xe9/\\xe9t\\xe9.png" in (tmp_path / "clusters.csv").read_text(encoding="utf-8")
    # a file whose name reads the same once escaped is refused, naming both
    (root / "caf\\xe9").mkdir()
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(root / "caf\\xe9" / "b.png")
    with pytest.raises(ImageDataError) as exc:
        read_folder(root, labels="folders")
    assert "b'caf\\xe9/b.png'" in str(exc.value) and "b'caf\\\\xe9/b.png'" in str(exc.value)
    assert "both read as caf\\xe9/b.png" in str(exc.value)


def test_labels_csv_in_utf8_with_or_without_bom_and_latin1_refused(tmp_path):
    root = tmp_path / "flat"
    truth = make_folder(root, per_class=2, sub_folders=False, corrupt=False)
    text = "file,label\n" + "".join(f"{f},{'café' if c == 'red' else c}\n" for f, c in truth.items())
    csv = tmp_path / "labels.csv"
    for encoded in (text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        csv.write_bytes(encoded)
        assert read_folder(root, labels="csv", labels_csv=csv).label_names == ["blue", "café", "green"]
    csv.write_bytes(text.encode("latin-1"))
    with pytest.raises(ImageDataError) as exc:
        read_folder(root, labels="csv", labels_csv=csv)
    assert "labels.csv: not UTF-8 text (byte 0xe9 at offset" in str(exc.value) and "as UTF-8" in str(exc.value)


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


def test_npy_is_memory_mapped_and_conversion_goes_block_by_block(tmp_path, monkeypatch):
    import aeclust.images as images

    rng = np.random.default_rng(3)
    np.save(tmp_path / "u8.npy", rng.integers(0, 256, (5, 6, 6), dtype=np.uint8))
    a, _ = images._load_array(tmp_path / "u8.npy", None)
    assert isinstance(a, np.memmap)  # read through a map, not into memory
    cases = [
        rng.integers(-3000, 3000, (7, 5, 4), dtype=np.int16),
        rng.random((7, 5, 4, 3)).astype(np.float32) * 9 - 4,
        rng.random((7, 5, 4)),
    ]
    for a in cases:  # blocks of one image give the bytes of one whole-array expression
        whole = images._to_uint8(a)
        monkeypatch.setattr(images, "_CHUNK", 20)
        assert np.array_equal(images._to_uint8(a), whole)
        monkeypatch.undo()
    lo, hi = float(cases[1].min()), float(cases[1].max())
    expected = np.round(((cases[1] - lo) / (hi - lo)).astype(np.float64) * 255).astype(np.uint8)
    assert np.array_equal(images._to_uint8(cases[1]), expected)


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
    from aeclust.cluster import gmm, kmeans

    x = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"kmeans.k: 5 clusters for 3 images \(allowed: 2..3\)"):
        kmeans(x, 5, 1, 10, 0)
    with pytest.raises(ValueError, match=r"kmeans.k: 5 components for 3 images"):
        gmm(x, 5, "full", 1, 10, 0)


# ---- EXIF orientation: a phone photo held upright is stored sideways, and shown upright ----


def _save_oriented(path: Path, stored: np.ndarray, orientation: int, fmt: str = "PNG") -> None:
    im = Image.fromarray(stored)
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(path, fmt, exif=exif.tobytes())


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_viewers_do(tmp_path, orientation):
    from PIL import ImageOps

    rng = np.random.default_rng(orientation)
    stored = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)  # not square: 5-8 swap the sides
    (tmp_path / "d").mkdir()
    _save_oriented(tmp_path / "d" / "a.png", stored, orientation)
    with Image.open(tmp_path / "d" / "a.png") as im:
        upright = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))  # what a viewer shows
    data = read_folder(tmp_path / "d")  # the image's own size
    assert np.array_equal(np.moveaxis(data.images[0], 0, 2), upright)
    # resized: to the size asked for, upright, as resizing the upright picture gives
    data = read_folder(tmp_path / "d", image_size=[4, 6])
    expected = np.asarray(Image.fromarray(upright).resize((6, 4), Image.Resampling.BILINEAR), dtype=int)
    assert data.images.shape == (1, 3, 4, 6)
    assert np.abs(np.moveaxis(data.images[0], 0, 2).astype(int) - expected).max() <= 1


def test_a_sideways_jpeg_decoded_reduced_comes_out_upright(tmp_path):
    """A 1600x1200 JPEG with orientation 6 (stored rotated): the reduced decode is asked
    for the stored sides, and the result has the shown picture's shape and content."""
    from PIL import ImageOps

    (tmp_path / "d").mkdir()
    path = tmp_path / "d" / "p.jpg"
    with Image.open(__import__("io").BytesIO(jpeg_bytes(1600, 1200, seed=3))) as im:
        _save_oriented(path, np.asarray(im), 6, "JPEG")
    data = read_folder(tmp_path / "d", image_size=[32, 24])  # shown upright: 1200 wide, 1600 high
    assert data.images.shape == (1, 3, 32, 24)
    with Image.open(path) as im:
        full = np.asarray(ImageOps.exif_transpose(im).convert("RGB").resize((24, 32), Image.Resampling.BILINEAR))
    diff = np.abs(np.moveaxis(data.images[0], 0, 2).astype(int) - full.astype(int))
    assert diff.mean() < 1 and diff.max() <= 12, (diff.mean(), diff.max())


def test_a_damaged_exif_block_keeps_the_pixels_as_stored(tmp_path):
    (tmp_path / "d").mkdir()
    stored = np.arange(6 * 10, dtype=np.uint8).reshape(6, 10)
    _save_oriented(tmp_path / "d" / "a.png", stored, 99)  # not an orientation
    assert np.array_equal(read_folder(tmp_path / "d").images[0], stored)
