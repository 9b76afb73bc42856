"""Read IDX files, the format MNIST and Fashion-MNIST ship in.

An IDX file is a 4-byte magic number ``0x00 0x00 TYPE NDIM``, then NDIM big-endian
uint32 dimension sizes, then the values in C order (big-endian for multi-byte types).
Every check raises :class:`IdxError` with a one-line message that names the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

# IDX type code -> big-endian numpy dtype.
DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

IMAGE_SHAPE = (28, 28)
N_CLASSES = 10


class IdxError(ValueError):
    """A file is not a valid IDX file, or not the one that was expected."""


def _parse_header(path: Path, head: bytes, size: int) -> tuple[np.dtype, tuple[int, ...], int]:
    """Check the header of ``path`` (``size`` bytes long); return dtype, shape, data offset."""
    if len(head) < 4:
        raise IdxError(f"{path}: {size} bytes, too short for an IDX header (4 bytes at least)")
    if head[0] != 0 or head[1] != 0:
        raise IdxError(
            f"{path}: bad magic number 0x{head[:4].hex()} (expected 0x0000TTNN; not an IDX file, or still gzipped?)"
        )
    code, ndim = head[2], head[3]
    if code not in DTYPES:
        known = ", ".join(f"0x{c:02x}" for c in DTYPES)
        raise IdxError(f"{path}: unknown IDX type code 0x{code:02x} (expected one of {known})")
    if ndim == 0:
        raise IdxError(f"{path}: header says 0 dimensions (expected 1 or more)")
    offset = 4 + 4 * ndim
    if size < offset:
        raise IdxError(f"{path}: length {size} bytes, header with {ndim} dimensions needs {offset} (truncated?)")
    shape = tuple(int(d) for d in np.frombuffer(head, dtype=">u4", count=ndim, offset=4))
    return DTYPES[code], shape, offset


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file into a native-endian array of the shape its header gives.

    Raises :class:`IdxError` on a bad magic number, an unknown type code, or a file
    whose length differs from what the header implies (truncated or trailing bytes).
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(4)
            if len(head) == 4:
                head += f.read(4 * head[3])
            dtype, shape, offset = _parse_header(path, head, size)
            expected = offset + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
            if size != expected:
                hint = "truncated?" if size < expected else "trailing bytes?"
                raise IdxError(f"{path}: length {size} bytes, header says {expected} ({hint})")
            data = np.fromfile(f, dtype=dtype, count=(expected - offset) // dtype.itemsize)
    except OSError as e:
        raise IdxError(f"{path}: cannot read: {e.strerror or e}") from e
    return data.reshape(shape).astype(dtype.newbyteorder("="), copy=False)


def _expect(path: str | os.PathLike, array: np.ndarray, what: str, shape: tuple[int | None, ...]) -> None:
    """Raise unless ``array`` is uint8 and matches ``shape`` (``None`` = any size)."""
    if array.dtype != np.uint8:
        raise IdxError(f"{path}: {what} have dtype {array.dtype} (expected uint8)")
    ok = array.ndim == len(shape) and all(s is None or s == a for s, a in zip(shape, array.shape))
    if not ok:
        want = "[" + ", ".join("N" if s is None else str(s) for s in shape) + "]"
        raise IdxError(f"{path}: {what} have shape {list(array.shape)} (expected {want}; wrong file?)")


def read_images_labels(images_path: str | os.PathLike, labels_path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read a matching pair of MNIST-style image and label IDX files.

    Returns ``images`` uint8 ``[N, 28, 28]`` and ``labels`` uint8 ``[N]`` with values 0..9.
    """
    images = read_idx(images_path)
    _expect(images_path, images, "images", (None, *IMAGE_SHAPE))
    labels = read_idx(labels_path)
    _expect(labels_path, labels, "labels", (None,))
    if len(images) != len(labels):
        raise IdxError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path} (counts must agree)"
        )
    if labels.size and int(labels.max()) >= N_CLASSES:
        bad = int(np.argmax(labels >= N_CLASSES))
        raise IdxError(f"{labels_path}: label {int(labels[bad])} at index {bad} (expected 0..{N_CLASSES - 1})")
    return images, labels
