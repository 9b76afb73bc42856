"""A user's own images: a folder of image files or an array, read into the normalised
form the rest of the workflow reads (uint8 pixels, one class id per image, provenance).

Folder: PNG, JPEG, TIFF and BMP files found recursively (read with Pillow); labels from
class sub-folders (``cats/001.png`` is a cat), from a CSV with columns ``file,label``
(paths relative to the folder; UTF-8, with or without a byte-order mark), or none.
Array: an ``.npy`` or ``.npz`` of shape ``[N, H, W]`` or ``[N, H, W, C]`` (C = 1, 3 or 4;
alpha dropped), labels from the npz key ``labels`` or a second ``.npy``; an npz may also
hold ``split`` (``train`` / ``test`` per image), which then replaces the held-out draw.

Every image is converted to ``image_size`` ([height, width]; default: the data's own,
which must then be one size) and ``channels`` (1 grey, 3 RGB; default: 3 when any
image has colour, else 1), stored as uint8 in [0, 255] (the networks see value / 255).
Grey images are ``[N, H, W]`` (as MNIST), colour ones ``[N, 3, H, W]`` (channels first,
as the networks take them).

Memory: the result is one uint8 array, allocated once and filled image by image, so an
import needs about its own size plus one decoded image per thread, whatever the number
and size of the files: a folder of photos imported at 32x32 does not hold the photos.
A file above ``max_pixels`` is refused before it is decoded. An ``.npy`` is read through
a memory map; an ``.npz`` cannot be mapped (its members are zip entries, usually
compressed), so its images are read into memory once.

File names that are not UTF-8 (a Linux name may hold any bytes) are kept, their
undecodable bytes written as ``\\xNN`` (:func:`shown`), so every output can hold them.

Every problem raises :class:`ImageDataError` with one line naming the file or setting.
"""

from __future__ import annotations

import csv
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from .discover import SUFFIXES, discover

UNLABELLED = -1  # the label of every image of unlabelled data
DEFAULT_MAX_PIXELS = 50_000_000  # per image file; a 50-megapixel RGB image decodes to 150 MB
# A JPEG to be shrunk is decoded at 1/2, 1/4 or 1/8 of its size (libjpeg's scaling inside
# the inverse DCT, Pillow's Image.draft) but never below DRAFT_GAP times the target size;
# the usual antialiased bilinear resize then takes it to the target. A 4000x3000 photo at
# 32x32 thus decodes at 500x375 (1/64 of the memory and ~1/10 of the time). Against a full
# decode and the same resize, over ten test JPEGs (photographs from scikit-image, 300 to
# 4233 pixels a side, and generated 4000x3000 images) at 32x32, 64x48 and 100x100: a gap
# of 3 differs by 0.06-0.22 grey levels on average and 8 at most (of 255), a gap of 2 by
# 0.28-0.61 and 14 at most; so 3. A JPEG that would not shrink by 2 or more is decoded fully.
DRAFT_GAP = 3
# EXIF orientation (tag 0x0112): how the stored pixels are turned to show the picture upright,
# as every image viewer does (a phone photo held upright is stored sideways with 6 or 8).
# The turn is applied to the resized image, which for 5-8 is resized to the transposed size.
EXIF_ORIENTATION = 0x0112
_TURNS = {
    2: lambda p: p[:, ::-1],  # mirrored left to right
    3: lambda p: p[::-1, ::-1],  # 180 degrees
    4: lambda p: p[::-1],  # mirrored top to bottom
    5: lambda p: p.swapaxes(0, 1),  # transposed
    6: lambda p: np.rot90(p, -1),  # 90 degrees clockwise
    7: lambda p: p[::-1, ::-1].swapaxes(0, 1),  # transverse (mirrored across the other diagonal)
    8: lambda p: np.rot90(p, 1),  # 90 degrees anticlockwise
}
_CHUNK = 1 << 22  # elements converted at a time where a float64 intermediate is needed


class ImageDataError(ValueError):
    """The user's images cannot be used as they are; the message names the file or setting."""


@dataclass
class ImageData:
    images: np.ndarray  # uint8 [N, H, W] (grey) or [N, 3, H, W] (colour)
    labels: np.ndarray  # int64 [N]: class id, or UNLABELLED
    label_names: list[str]  # class id -> name; empty without labels
    source: list[str]  # per image: file path relative to the folder, or "name[i]" of an array
    split: np.ndarray | None = None  # "train" / "test" per image when the data say so
    skipped: list[tuple[str, str]] = field(default_factory=list)  # unreadable files skipped: (path, reason)

    @property
    def labelled(self) -> bool:
        return bool(self.label_names)

    def arrays(self) -> dict[str, np.ndarray]:
        """What the normalised data file holds (``import_images``)."""
        out = {
            "images": self.images,
            "labels": self.labels,
            "label_names": np.array(self.label_names, dtype=str),
            "source": np.array(self.source, dtype=str),
            "skipped": np.array([p for p, _ in self.skipped], dtype=str),
        }
        if self.split is not None:
            out["split"] = np.asarray(self.split, dtype=str)
        return out


def _setting(name: str, key: str) -> str:
    return f"datasets/{name}/{key}"


def shown(name: str | os.PathLike) -> str:
    """A file name as text any UTF-8 file can hold: bytes of the name that are not UTF-8
    (Python carries them as lone surrogates) become ``\\xNN``; other names are unchanged."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def parse_size(image_size, name: str = "images") -> tuple[int, int] | None:
    """``image_size`` as (height, width): an int is a square, a pair is [height, width]."""
    if image_size is None:
        return None
    size = [image_size, image_size] if isinstance(image_size, int) else list(image_size)
    if len(size) != 2 or not all(isinstance(v, int) and v >= 4 for v in size):
        raise ImageDataError(
            f"{_setting(name, 'image_size')}: {image_size!r} (expected a side >= 4 or [height, width])"
        )
    return int(size[0]), int(size[1])


def _check_channels(channels, name: str) -> None:
    if channels not in (None, 1, 3):
        raise ImageDataError(f"{_setting(name, 'channels')}: {channels} (expected 1 grey or 3 RGB)")


# ---- reading files --------------------------------------------------------------------


def image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` (by suffix, recursively, hidden ones left out), sorted: the
    files the workflow counted at parse time (:func:`aeclust.discover.discover`, which also says
    which symbolic links it follows). Skipped links are counted in the log."""
    found = discover(folder)
    if found.skipped_links:
        logging.getLogger("aeclust").warning(found.skipped_note())
    return found.paths


def _scaled_to_uint8(a: np.ndarray, hi: float) -> np.ndarray:
    """``round(a / hi * 255)`` clipped to [0, 255] as uint8, computed in float64 a block of
    rows at a time (the result of one whole-array float64 expression, without its copy)."""
    out = np.empty(a.shape, dtype=np.uint8)
    rows = max(1, _CHUNK // max(1, a[0].size)) if a.ndim > 1 else _CHUNK
    for start in range(0, len(a), rows):
        block = np.asarray(a[start : start + rows], dtype=np.float64)
        out[start : start + rows] = np.clip(np.round(block / hi * 255), 0, 255)
    return out


def _pixels(im) -> np.ndarray:
    """A loaded Pillow image as uint8 [H, W] (grey) or [H, W, 3] (colour)."""
    mode = im.mode
    if mode in ("1", "L", "LA"):
        return np.asarray(im if mode == "L" else im.convert("L"), dtype=np.uint8)
    if mode.startswith("I;16"):
        return (np.asarray(im, dtype=np.uint32) // 257).astype(np.uint8)
    if mode in ("I", "F"):
        a = np.asarray(im)
        return _scaled_to_uint8(a, 65535.0 if a.max() > 255 else 255.0)
    rgb = np.asarray(im if mode == "RGB" else im.convert("RGB"), dtype=np.uint8)
    if mode == "P" and (rgb == rgb[..., :1]).all():  # a palette of greys
        return np.ascontiguousarray(rgb[..., 0])
    return rgb


@dataclass(frozen=True)
class _Refused:
    """Why one file gave no image: ``too_large`` files stop the import, unreadable ones may be skipped."""

    reason: str
    too_large: bool = False


def _orientation(im) -> int:
    """The EXIF orientation of an open image: 1 (as stored) when absent or unreadable."""
    try:
        value = int(im.getexif().get(EXIF_ORIENTATION, 1))
    except Exception:  # a damaged EXIF block: the pixels as stored
        return 1
    return value if value in _TURNS else 1


def _decode(path: Path, size: tuple[int, int] | None, channels: int | None, max_pixels: int):
    """One file -> its image upright (its EXIF orientation applied) at ``size`` (its own when
    None) in ``channels`` (as decoded, [H, W] grey or [H, W, 3] colour, when None), or a
    :class:`_Refused`. Runs in a worker thread: Pillow and NumPy release the GIL while they
    decode, resize and convert."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > max_pixels:
                return _Refused(f"{w}x{h} pixels ({w * h / 1e6:.1f} megapixels)", too_large=True)
            turn = _orientation(im)
            stored = size if size is None or turn < 5 else (size[1], size[0])  # 5-8 swap the sides
            box = None
            if stored is not None and im.format == "JPEG":
                want = (stored[1] * DRAFT_GAP, stored[0] * DRAFT_GAP)
                if min(w // want[0], h // want[1]) >= 2:  # libjpeg scales by 1/2, 1/4 or 1/8
                    _, box = im.draft(None, want)
            im.load()  # decodes everything: a truncated file fails here, not later
            pixels = _pixels(im)
    except Image.DecompressionBombError:  # Pillow's own check, at twice max_pixels (read_folder sets it)
        return _Refused(f"more than {2 * max_pixels:,} pixels (Pillow's decompression-bomb check)", too_large=True)
    except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError...
        return _Refused(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    if stored is not None:
        pixels = _resize(pixels, stored, box)
    if turn != 1:
        pixels = np.ascontiguousarray(_TURNS[turn](pixels))
    return pixels if channels is None else _convert(pixels, pixels.shape[:2], channels)


class _Rows:
    """The one output array, filled image by image. With ``channels`` unknown it is held as
    colour [N, 3, H, W] (grey images in plane 0) until :meth:`result` knows whether any image
    had colour."""

    def __init__(self, n: int, size: tuple[int, int] | None, channels: int | None):
        self.n, self.size, self.channels = n, size, channels
        self.out: np.ndarray | None = None
        self.colour = np.zeros(n, dtype=bool)
        self.count = 0

    def hw(self, image: np.ndarray) -> tuple[int, int]:
        """Height and width of an image as :func:`_decode` gives it."""
        return tuple(image.shape[1:] if self.channels == 3 else image.shape[:2])

    def add(self, image: np.ndarray) -> bool:
        """Write the next image; False (nothing written) when its size differs from the first's."""
        if self.out is None:
            self.size = self.size or self.hw(image)
            shape = (self.n, *self.size) if self.channels == 1 else (self.n, 3, *self.size)
            self.out = np.empty(shape, dtype=np.uint8)
        if self.hw(image) != tuple(self.size):
            return False
        k = self.count
        if self.channels is not None:
            self.out[k] = image
        else:
            self.colour[k] = image.ndim == 3
            if image.ndim == 3:
                self.out[k] = np.moveaxis(image, 2, 0)
            else:
                self.out[k, 0] = image
        self.count += 1
        return True

    def result(self) -> np.ndarray:
        out, k = self.out[: self.count], self.count
        if self.channels is not None:
            return out
        colour = self.colour[:k]
        if colour.any():  # grey images repeated into the three planes, as _convert does
            for i in np.flatnonzero(~colour):
                out[i, 1:] = out[i, :1]
            return out
        return np.ascontiguousarray(out[:, 0])


def read_folder(
    folder: str | os.PathLike,
    labels: str = "none",
    labels_csv: str | os.PathLike | None = None,
    image_size=None,
    channels: int | None = None,
    skip_unreadable: bool = False,
    name: str = "images",
    max_pixels: int = DEFAULT_MAX_PIXELS,
    threads: int = 1,
) -> ImageData:
    """Read every image file under ``folder`` (see the module docstring).

    ``labels``: ``folders`` (the first sub-folder names the class), ``csv`` (``labels_csv``)
    or ``none``. ``skip_unreadable``: leave out files Pillow cannot decode (listed in
    :attr:`ImageData.skipped`) instead of failing on the first. ``max_pixels``: refuse a file
    with more pixels (width x height) than this. ``threads``: files decoded at once.
    """
    from PIL import Image

    folder = Path(folder)
    if not folder.is_dir():
        raise ImageDataError(f"{shown(folder)}: no such folder ({_setting(name, 'path')})")
    if labels not in ("folders", "csv", "none"):
        raise ImageDataError(f"{_setting(name, 'labels')}: {labels!r} (expected folders, csv or none for a folder)")
    size = parse_size(image_size, name)
    _check_channels(channels, name)
    if not isinstance(max_pixels, int) or isinstance(max_pixels, bool) or max_pixels < 1:
        raise ImageDataError(f"{_setting(name, 'max_pixels')}: {max_pixels!r} (expected a whole number >= 1)")
    files = image_files(folder)
    if not files:
        raise ImageDataError(
            f"{shown(folder)}: no image files ({', '.join(s[1:] for s in SUFFIXES)}) in it or below it"
        )
    rels = [shown(p.relative_to(folder).as_posix()) for p in files]
    _refuse_clashes(folder, files, rels)
    by_file: dict[str, str] = {}
    if labels == "csv":
        if labels_csv is None:
            raise ImageDataError(f"{_setting(name, 'labels_csv')}: required with labels: csv")
        by_file = _read_labels_csv(Path(labels_csv), folder, rels, name)
    elif labels == "folders":
        flat = [p for p in files if len(p.relative_to(folder).parts) < 2]
        if flat:
            raise ImageDataError(
                f"{shown(flat[0])}: not in a class sub-folder ({_setting(name, 'labels')}: folders needs "
                f"{shown(folder)}/<class>/<image>; {len(flat)} such files)"
            )
        by_file = {rel: rel.split("/")[0] for rel in rels}
    rows, source, skipped = _Rows(len(files), size, channels), [], []
    decode = partial(_decode, size=size, channels=channels, max_pixels=max_pixels)
    bomb_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's decompression-bomb check then never refuses first
    pool = ThreadPoolExecutor(max(1, int(threads)), thread_name_prefix="decode")
    try:
        for path, rel, got in zip(files, rels, pool.map(decode, files), strict=True):
            if isinstance(got, _Refused):
                if got.too_large:
                    raise ImageDataError(
                        f"{shown(path)}: {got.reason}, above {_setting(name, 'max_pixels')} = {max_pixels:,}; "
                        f"shrink the image or raise the setting"
                    )
                if not skip_unreadable:
                    raise ImageDataError(
                        f"{shown(path)}: not a readable image ({got.reason}); "
                        f"{_setting(name, 'skip_unreadable')}: true skips such files"
                    )
                skipped.append((rel, got.reason))
                continue
            if not rows.add(got):
                first, other = rows.size, rows.hw(got)
                raise ImageDataError(
                    f"{shown(folder)}: images of different sizes ({source[0]} is {first[0]}x{first[1]}, "
                    f"{rel} is {other[0]}x{other[1]}, height x width); set {_setting(name, 'image_size')}"
                )
            source.append(rel)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        Image.MAX_IMAGE_PIXELS = bomb_limit
    if not source:
        raise ImageDataError(
            f"{shown(folder)}: none of its {len(files)} image files could be read "
            f"(first: {skipped[0][0]}: {skipped[0][1]})"
        )
    names = [by_file[s] for s in source] if labels != "none" else None
    return _finish(rows.result(), names, source, name, where=shown(folder), skipped=skipped)


def _refuse_clashes(folder: Path, files: list[Path], rels: list[str]) -> None:
    """Two files whose names read the same once undecodable bytes are written as \\xNN."""
    if len(set(rels)) == len(rels):
        return
    seen: dict[str, Path] = {}
    for path, rel in zip(files, rels, strict=True):
        if rel in seen:
            raise ImageDataError(
                f"{shown(folder)}: {os.fsencode(seen[rel].relative_to(folder))!r} and "
                f"{os.fsencode(path.relative_to(folder))!r} both read as {rel} (names are kept as UTF-8 text, "
                f"other bytes as \\xNN); rename one"
            )
        seen[rel] = path


def _read_labels_csv(csv_path: Path, folder: Path, present: list[str], name: str) -> dict[str, str]:
    """File (relative to ``folder``) -> label; every image must have one, every row name an image."""
    if not csv_path.is_file():
        raise ImageDataError(f"{shown(csv_path)}: labels CSV not found ({_setting(name, 'labels_csv')})")
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except UnicodeDecodeError as exc:
        raise ImageDataError(
            f"{shown(csv_path)}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            f"save the labels CSV as UTF-8"
        ) from None
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["file", "label"]:
        raise ImageDataError(f"{shown(csv_path)}: first line must be the header 'file,label'")
    labels: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2 or not row[1].strip():
            raise ImageDataError(f"{shown(csv_path)}: line {line}: expected 'file,label', got {','.join(row)!r}")
        key = Path(row[0].strip()).as_posix()
        if key in labels:
            raise ImageDataError(f"{shown(csv_path)}: line {line}: {key} is labelled twice")
        labels[key] = row[1].strip()
    missing = sorted(set(labels) - set(present))
    if missing:
        raise ImageDataError(
            f"{shown(csv_path)}: names {len(missing)} files that are not image files in {shown(folder)} "
            f"(first: {missing[0]})"
        )
    unlabelled = sorted(set(present) - set(labels))
    if unlabelled:
        raise ImageDataError(
            f"{shown(csv_path)}: {len(unlabelled)} images of {shown(folder)} have no label (first: {unlabelled[0]})"
        )
    return labels


def _class_ids(names, where: str, name: str) -> tuple[np.ndarray, list[str]]:
    classes = sorted(
        set(names),
        key=lambda c: (not str(c).lstrip("-").isdigit(), int(c) if str(c).lstrip("-").isdigit() else 0, str(c)),
    )
    if len(classes) < 2:
        raise ImageDataError(
            f"{where}: the labels name a single class ({classes[0]!r}); clustering needs 2 or more "
            f"(or {_setting(name, 'labels')}: none)"
        )
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index[c] for c in names], dtype=np.int64), [str(c) for c in classes]


def _finish(images: np.ndarray, names, source: list[str], name: str, where: str, skipped=(), split=None) -> ImageData:
    """The converted images with their class ids (from ``names``, one per image, or none)."""
    if names is None:
        labels, label_names = np.full(len(images), UNLABELLED, dtype=np.int64), []
    else:
        labels, label_names = _class_ids(names, where, name)
    return ImageData(images, labels, label_names, list(source), split, list(skipped))


def _resize(p: np.ndarray, size: tuple[int, int], box=None) -> np.ndarray:
    """One uint8 image [H, W] or [H, W, C] to ``size`` (antialiased bilinear); ``box``: the
    region of ``p`` to use, in its pixels (a JPEG decoded at a reduced scale)."""
    from PIL import Image

    if p.shape[:2] == size and box is None:
        return p
    im = Image.fromarray(p)
    return np.asarray(im.resize((size[1], size[0]), Image.Resampling.BILINEAR, box=box), dtype=np.uint8)


def _convert(p: np.ndarray, size: tuple[int, int], channels: int, box=None) -> np.ndarray:
    """One uint8 image to ``size`` and ``channels``: [H, W] or [3, H, W]."""
    from PIL import Image

    p = _resize(p, size, box)
    if channels == 1:
        if p.ndim == 3:  # ITU-R 601-2 luma, as Pillow's convert("L")
            p = np.asarray(Image.fromarray(p).convert("L"), dtype=np.uint8)
        return p
    if p.ndim == 2:
        p = np.repeat(p[..., None], 3, axis=2)
    return np.moveaxis(p, 2, 0)


# ---- arrays ---------------------------------------------------------------------------


def _to_uint8(a: np.ndarray) -> np.ndarray:
    """Pixel values scaled to [0, 255] uint8: uint8 as is, other integers by their type's
    range, booleans 0/1, floats in [0, 1] as they are and other floats by their min..max.
    Computed a block of images at a time, so a float64 intermediate never spans the array."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.view(np.uint8) * np.uint8(255)
    if np.issubdtype(a.dtype, np.integer):
        info = np.iinfo(a.dtype)
        lo = 0 if a.min() >= 0 else info.min

        def block(b):
            return np.round((b.astype(np.float64) - lo) / (info.max - lo) * 255)

    else:
        lo, hi = float(a.min()), float(a.max())

        def block(b):
            if lo >= 0 and hi <= 1:
                scaled = b
            elif hi > lo:
                scaled = (b - lo) / (hi - lo)
            else:
                scaled = np.zeros_like(b)
            return np.round(np.asarray(scaled, dtype=np.float64) * 255)

    out = np.empty(a.shape, dtype=np.uint8)
    step = max(1, _CHUNK // max(1, a[0].size))
    for start in range(0, len(a), step):
        out[start : start + step] = block(a[start : start + step])
    return out


def _first_non_finite(a: np.ndarray) -> tuple[int, int] | None:
    """(number of NaN or infinite values, index of the first image holding one), or None."""
    step = max(1, _CHUNK // max(1, a[0].size))
    count, first = 0, None
    for start in range(0, len(a), step):
        bad = ~np.isfinite(a[start : start + step])
        n = int(bad.sum())
        if n and first is None:
            first = start + int(np.argwhere(bad)[0][0])
        count += n
    return None if first is None else (count, first)


def _load_array(path: Path, key: str | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The images of an .npy (memory-mapped) or an .npz (read into memory), and from an npz
    also its ``labels`` and ``split`` when it has them."""
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                keys = list(f.files)
                key = key or ("images" if "images" in keys else (keys[0] if len(keys) == 1 else None))
                if key is None or key not in keys:
                    raise ImageDataError(
                        f"{shown(path)}: no array {key or 'images'!r} in it (holds {', '.join(sorted(keys)) or 'nothing'})"
                    )
                others = {k: f[k] for k in ("labels", "split") if k in keys and k != key}
                return f[key], others
        try:
            return np.load(path, mmap_mode="r", allow_pickle=False), {}
        except ValueError:  # an array of Python objects cannot be mapped: np.load says why
            return np.load(path, allow_pickle=False), {}
    except ImageDataError:
        raise
    except Exception as exc:  # not an npy/npz, pickled objects, truncated
        raise ImageDataError(
            f"{shown(path)}: not a readable .npy/.npz array "
            f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
        ) from None


def read_array(
    path: str | os.PathLike,
    labels: str = "none",
    labels_path: str | os.PathLike | None = None,
    image_size=None,
    channels: int | None = None,
    name: str = "images",
    key: str | None = None,
) -> ImageData:
    """Read an ``.npy`` / ``.npz`` of images (see the module docstring).

    ``labels``: ``array`` (the npz key ``labels``, or ``labels_path``: an .npy, or an npz with ``labels``) or ``none``.
    """
    path = Path(path)
    where = shown(path)
    if not path.is_file():
        raise ImageDataError(f"{where}: no such file ({_setting(name, 'path')})")
    if path.suffix not in (".npy", ".npz"):
        raise ImageDataError(f"{where}: expected an .npy or .npz file ({_setting(name, 'path')})")
    size = parse_size(image_size, name)
    _check_channels(channels, name)
    a, others = _load_array(path, key)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise ImageDataError(f"{where}: images have dtype {a.dtype} (expected numbers: integers, floats or booleans)")
    if np.iscomplexobj(a):
        raise ImageDataError(f"{where}: images have dtype {a.dtype} (expected real numbers)")
    ok = a.ndim == 3 or (a.ndim == 4 and a.shape[3] in (1, 3, 4))
    if not ok or len(a) == 0 or min(a.shape[1:3]) < 1:
        raise ImageDataError(
            f"{where}: images have shape {list(a.shape)} (expected [N, H, W] or [N, H, W, C] with C 1, 3 or 4)"
        )
    if np.issubdtype(a.dtype, np.floating):
        bad = _first_non_finite(a)
        if bad:
            raise ImageDataError(f"{where}: {bad[0]} NaN or infinite values (first in image {bad[1]})")
    names = None
    if labels == "array":
        names = _array_labels(path, others, labels_path, len(a), name)
    elif labels != "none":
        raise ImageDataError(f"{_setting(name, 'labels')}: {labels!r} (expected array or none for an array)")
    split = others.get("split")
    if split is not None:
        split = np.asarray(split).astype(str)
        if len(split) != len(a) or not set(split.tolist()) <= {"train", "test"}:
            raise ImageDataError(f"{where}: 'split' must give train or test for each of the {len(a)} images")
    a = _to_uint8(a)  # the range of every plane, an alpha plane too, sets the scale
    if a.ndim == 4:
        a = a[..., 0] if a.shape[3] == 1 else a[..., :3]
    if channels is None:
        channels = 3 if a.ndim == 4 else 1
    if size is None and channels == (3 if a.ndim == 4 else 1):
        images = np.ascontiguousarray(a if a.ndim == 3 else np.moveaxis(a, 3, 1))
    else:
        size = size or a.shape[1:3]
        images = np.empty((len(a), *((3,) if channels == 3 else ()), *size), dtype=np.uint8)
        for i in range(len(a)):
            images[i] = _convert(np.asarray(a[i]), size, channels)
    source = [f"{path.name}[{i}]" for i in range(len(a))]
    return _finish(images, names, source, name, where=where, split=split)


def _array_labels(path: Path, others: dict, labels_path, n: int, name: str) -> list:
    where = path
    if labels_path is not None:
        where = Path(labels_path)
        if not where.is_file():
            raise ImageDataError(f"{shown(where)}: labels file not found ({_setting(name, 'labels_path')})")
        lab, _ = _load_array(where, "labels" if where.suffix == ".npz" else None)
    elif "labels" in others:
        lab = others["labels"]
    else:
        raise ImageDataError(
            f"{shown(path)}: no 'labels' array in it; give {_setting(name, 'labels_path')} or set labels: none"
        )
    lab = np.asarray(lab)
    if lab.ndim != 1 or len(lab) != n:
        raise ImageDataError(f"{shown(where)}: labels have shape {list(lab.shape)} (expected [{n}], one per image)")
    if np.issubdtype(lab.dtype, np.floating):
        if not np.isfinite(lab).all() or not np.all(lab == np.round(lab)):
            raise ImageDataError(f"{shown(where)}: labels must be integers or names (found non-integer or NaN values)")
        lab = lab.astype(np.int64)
    return lab.tolist()


def read_source(ds: dict, name: str, threads: int = 1) -> ImageData:
    """The images a dataset entry of the config (``source: folder`` or ``array``) describes;
    ``threads``: files decoded at once."""
    common = dict(image_size=ds.get("image_size"), channels=ds.get("channels"), name=name)
    if ds["source"] == "folder":
        return read_folder(
            ds["path"],
            ds["labels"],
            ds.get("labels_csv"),
            skip_unreadable=ds.get("skip_unreadable", False),
            max_pixels=ds.get("max_pixels") or DEFAULT_MAX_PIXELS,
            threads=threads,
            **common,
        )
    if ds["source"] == "array":
        return read_array(ds["path"], ds["labels"], ds.get("labels_path"), **common)
    raise ImageDataError(f"{_setting(name, 'source')}: {ds['source']!r} (expected idx, folder or array)")
