"""IDX reading: a good file round-trips; each kind of bad file fails naming the file."""

from __future__ import annotations

import numpy as np
import pytest
from aeclust.idx import IdxError, read_idx, read_images_labels
from helpers import write_idx


def _pair(tmp_path, n=5, label_values=None):
    """Write ``n`` random 28x28 images and labels; return their paths and arrays."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = np.asarray(label_values if label_values is not None else rng.integers(0, 10, n), dtype=np.uint8)
    ip, lp = tmp_path / "images-idx3-ubyte", tmp_path / "labels-idx1-ubyte"
    write_idx(ip, images)
    write_idx(lp, labels)
    return ip, lp, images, labels


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_roundtrip_dtypes(tmp_path, dtype):
    arr = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    write_idx(tmp_path / "a", arr)
    back = read_idx(tmp_path / "a")
    assert back.dtype == np.dtype(dtype) and back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)


def test_header_bytes(tmp_path):
    write_idx(tmp_path / "l", np.zeros(3, np.uint8))
    assert (tmp_path / "l").read_bytes() == bytes([0, 0, 8, 1, 0, 0, 0, 3, 0, 0, 0])


def test_images_labels_roundtrip(tmp_path):
    ip, lp, images, labels = _pair(tmp_path)
    got_i, got_l = read_images_labels(ip, lp)
    assert got_i.dtype == np.uint8 and got_i.shape == (5, 28, 28)
    assert got_l.dtype == np.uint8 and got_l.shape == (5,)
    np.testing.assert_array_equal(got_i, images)
    np.testing.assert_array_equal(got_l, labels)


def test_truncated(tmp_path):
    ip, _, _, _ = _pair(tmp_path)
    ip.write_bytes(ip.read_bytes()[:1000])
    with pytest.raises(IdxError, match="truncated") as e:
        read_idx(ip)
    assert str(ip) in str(e.value) and "1000 bytes" in str(e.value) and "3936" in str(e.value)


def test_trailing_bytes(tmp_path):
    _, lp, _, _ = _pair(tmp_path)
    lp.write_bytes(lp.read_bytes() + b"\0")
    with pytest.raises(IdxError, match="trailing") as e:
        read_idx(lp)
    assert str(lp) in str(e.value)


def test_truncated_header(tmp_path):
    p = tmp_path / "short"
    p.write_bytes(bytes([0, 0, 8, 3, 0, 0]))
    with pytest.raises(IdxError, match="truncated") as e:
        read_idx(p)
    assert str(p) in str(e.value)


def test_wrong_magic(tmp_path):
    p = tmp_path / "still.gz"
    p.write_bytes(b"\x1f\x8b\x08\x00" + bytes(20))
    with pytest.raises(IdxError, match="magic") as e:
        read_idx(p)
    assert str(p) in str(e.value)


def test_unknown_type_code(tmp_path):
    p = tmp_path / "odd"
    p.write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 0]))
    with pytest.raises(IdxError, match="type code 0x07") as e:
        read_idx(p)
    assert str(p) in str(e.value)


def test_missing_file(tmp_path):
    with pytest.raises(IdxError, match="cannot read") as e:
        read_idx(tmp_path / "nope")
    assert str(tmp_path / "nope") in str(e.value)


def test_images_given_as_labels(tmp_path):
    ip, _, _, _ = _pair(tmp_path)
    with pytest.raises(IdxError, match=r"labels have shape \[5, 28, 28\]") as e:
        read_images_labels(ip, ip)
    assert str(e.value).startswith(f"{ip}:")


def test_labels_given_as_images(tmp_path):
    _, lp, _, _ = _pair(tmp_path)
    with pytest.raises(IdxError, match=r"images have shape \[5\]") as e:
        read_images_labels(lp, lp)
    assert str(e.value).startswith(f"{lp}:")


def test_count_mismatch(tmp_path):
    ip, lp, _, _ = _pair(tmp_path)
    write_idx(lp, np.zeros(4, np.uint8))
    with pytest.raises(IdxError, match="4 labels for 5 images") as e:
        read_images_labels(ip, lp)
    assert str(e.value).startswith(f"{lp}:") and str(ip) in str(e.value)


def test_label_out_of_range(tmp_path):
    ip, lp, _, _ = _pair(tmp_path, label_values=[0, 9, 3, 10, 1])
    with pytest.raises(IdxError, match=r"label 10 at index 3 \(expected 0..9\)") as e:
        read_images_labels(ip, lp)
    assert str(e.value).startswith(f"{lp}:")


def test_wrong_dtype(tmp_path):
    ip, lp, _, _ = _pair(tmp_path)
    write_idx(lp, np.zeros(5, np.int32))
    with pytest.raises(IdxError, match="dtype int32") as e:
        read_images_labels(ip, lp)
    assert str(lp) in str(e.value)


def test_messages_are_one_line(tmp_path):
    ip, lp, _, _ = _pair(tmp_path)
    ip.write_bytes(ip.read_bytes()[:100])
    with pytest.raises(IdxError) as e:
        read_images_labels(ip, lp)
    assert "\n" not in str(e.value)
