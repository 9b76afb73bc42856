"""Label-free preprocessing (aeclust.preprocess): moment-based deskewing of whole datasets."""

import numpy as np
import pytest
from aeclust.params import deskews
from aeclust.preprocess import deskew


def moments(img):
    """Centre of mass (row, col) and the shear cov(row, col) / var(row) of one image's ink."""
    ink = img.astype(float)
    rows, cols = np.mgrid[: img.shape[0], : img.shape[1]]
    m = ink.sum()
    r, c = (ink * rows).sum() / m, (ink * cols).sum() / m
    shear = (ink * (rows - r) * (cols - c)).sum() / (ink * (rows - r) ** 2).sum()
    return r, c, shear


def slanted_stroke(shear, centre_col, size=28):
    """A bar 16 rows tall, 3 pixels wide, leaning by `shear` columns per row, off centre."""
    img = np.zeros((size, size), np.uint8)
    for row in range(6, 22):
        col = int(round(centre_col + shear * (row - 14)))
        img[row, col - 1 : col + 2] = 255
    return img


@pytest.mark.parametrize("shear, col", [(-0.5, 10), (0.4, 17), (0.0, 14)])
def test_deskew_makes_a_slanted_stroke_upright_and_centres_it(shear, col):
    img = slanted_stroke(shear, col)
    r0, c0, s0 = moments(img)
    assert abs(s0 - shear) < 0.05  # the synthetic stroke leans as asked
    out = deskew(img[None])[0]
    r, c, s = moments(out)
    assert abs(s) < 0.05, f"still leaning: shear {s:.3f} (was {s0:.3f})"
    assert abs(r - 13.5) < 0.3 and abs(c - 13.5) < 0.3, f"centre ({r:.2f}, {c:.2f})"
    assert abs(int(out.sum()) - int(img.sum())) < 0.05 * img.sum()  # ink is moved, not lost


def test_deskew_keeps_shape_dtype_blank_images_and_is_deterministic():
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    grey[2] = 0
    out = deskew(grey, batch=2)  # batches of 2: the split must not change anything
    assert out.shape == grey.shape and out.dtype == np.uint8
    assert np.array_equal(out, deskew(grey))
    assert not out[2].any()  # a blank image has no moments and stays blank
    colour = np.repeat(slanted_stroke(0.5, 12)[None, None], 3, axis=1)  # [1, 3, H, W]
    out = deskew(colour)
    assert out.shape == colour.shape
    assert np.array_equal(out[0, 0], out[0, 2])  # one map for every channel
    assert np.array_equal(out[0, 0], deskew(slanted_stroke(0.5, 12)[None])[0])


def test_deskew_rejects_what_is_not_uint8_images():
    with pytest.raises(ValueError, match=r"deskew: expected uint8 images"):
        deskew(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ValueError, match=r"deskew: expected uint8 images"):
        deskew(np.zeros((28, 28), np.uint8))


def test_deskews_follows_the_setting_unless_the_dataset_has_no_slant():
    cfg = {
        "dataset": "mnist",
        "subsets": {"deskew": True},
        "datasets": {"mnist": {}, "fashion-mnist": {"deskew": False}},
    }
    assert deskews(cfg)
    assert not deskews({**cfg, "dataset": "fashion-mnist"})
    assert not deskews({**cfg, "subsets": {"deskew": False}})
