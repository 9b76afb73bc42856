"""A user's own images: a folder of image files or an array, read into the normalised
form the rest of the workflow reads (uint8 pixels, one class id per image, provenance).

Folder: PNG, JPEG, TIFF and BMP files found recursively (read with Pillow); labels from
class sub-folders (``cats/001.png`` is a cat), from a CSV with columns ``file,label``
(paths relative to the folder), or none. Array: an ``.npy`` or ``.npz`` of shape
``[N, H, W]`` or ``[N, H, W, C]`` (C = 1, 3 or 4; alpha dropped), labels from the npz
key ``labels`` or a second ``.npy``; an npz may also hold ``split`` (``train`` / ``test``
per image), which then replaces the held-out draw.

Every image is converted to ``image_size`` ([height, width]; default: the data's own,
which must then be one size) and ``channels`` (1 grey, 3 RGB; default: 3 when any
image has colour, else 1), stored as uint8 in [0, 255] (the networks see value / 255).
Grey images are ``[N, H, W]`` (as MNIST), colour ones ``[N, 3, H, W]`` (channels first,
as the networks take them).

Every problem raises :class:`ImageDataError` with one line naming the file or setting.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .discover import SUFFIXES, discover

UNLABELLED = -1  # the label of every image of unlabelled data


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


# ---- reading files --------------------------------------------------------------------


def image_files(folder: Path) -> list[Path]:
    """Image files under ``folder`` (by suffix, recursively, hidden ones left out), sorted: the
    files the workflow counted at parse time (:func:`aeclust.discover.discover`, which also says
    which symbolic links it follows). Skipped links are counted in the log."""
    found = discover(folder)
    if found.skipped_links:
        logging.getLogger("aeclust").warning(found.skipped_note())
    return found.paths


def _open(path: Path) -> np.ndarray:
    """Decode one file fully: uint8 [H, W] (grey) or [H, W, 3] (colour). Raises OSError or ValueError."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()  # decodes everything: a truncated file fails here, not later
        mode = im.mode
        if mode in ("1", "L", "LA"):
            return np.asarray(im.convert("L"), dtype=np.uint8)
        if mode.startswith("I;16"):
            return (np.asarray(im, dtype=np.uint32) // 257).astype(np.uint8)
        if mode in ("I", "F"):
            a = np.asarray(im, dtype=np.float64)
            hi = 65535.0 if a.max() > 255 else 255.0
            return np.clip(np.round(a / hi * 255), 0, 255).astype(np.uint8)
        rgb = np.asarray(im.convert("RGB"), dtype=np.uint8)
    if mode == "P" and (rgb == rgb[..., :1]).all():  # a palette of greys
        return np.ascontiguousarray(rgb[..., 0])
    return rgb


def _read_labels_csv(csv_path: Path, folder: Path, files: list[Path], name: str) -> dict[str, str]:
    """File (relative to ``folder``) -> label; every image must have one, every row name an image."""
    if not csv_path.is_file():
        raise ImageDataError(f"{csv_path}: labels CSV not found ({_setting(name, 'labels_csv')})")
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["file", "label"]:
        raise ImageDataError(f"{csv_path}: first line must be the header 'file,label'")
    labels: dict[str, str] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or not "".join(row).strip():
            continue
        if len(row) < 2 or not row[1].strip():
            raise ImageDataError(f"{csv_path}: line {line}: expected 'file,label', got {','.join(row)!r}")
        key = Path(row[0].strip()).as_posix()
        if key in labels:
            raise ImageDataError(f"{csv_path}: line {line}: {key} is labelled twice")
        labels[key] = row[1].strip()
    present = {p.relative_to(folder).as_posix() for p in files}
    missing = sorted(set(labels) - present)
    if missing:
        raise ImageDataError(
            f"{csv_path}: names {len(missing)} files that are not image files in {folder} (first: {missing[0]})"
        )
    unlabelled = sorted(present - set(labels))
    if unlabelled:
        raise ImageDataError(f"{csv_path}: {len(unlabelled)} images of {folder} have no label (first: {unlabelled[0]})")
    return labels


def read_folder(
    folder: str | os.PathLike,
    labels: str = "none",
    labels_csv: str | os.PathLike | None = None,
    image_size=None,
    channels: int | None = None,
    skip_unreadable: bool = False,
    name: str = "images",
) -> ImageData:
    """Read every image file under ``folder`` (see the module docstring).

    ``labels``: ``folders`` (the first sub-folder names the class), ``csv`` (``labels_csv``)
    or ``none``. ``skip_unreadable``: leave out files Pillow cannot decode (listed in
    :attr:`ImageData.skipped`) instead of failing on the first.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ImageDataError(f"{folder}: no such folder ({_setting(name, 'path')})")
    if labels not in ("folders", "csv", "none"):
        raise ImageDataError(f"{_setting(name, 'labels')}: {labels!r} (expected folders, csv or none for a folder)")
    files = image_files(folder)
    if not files:
        raise ImageDataError(f"{folder}: no image files ({', '.join(s[1:] for s in SUFFIXES)}) in it or below it")
    by_file: dict[str, str] = {}
    if labels == "csv":
        if labels_csv is None:
            raise ImageDataError(f"{_setting(name, 'labels_csv')}: required with labels: csv")
        by_file = _read_labels_csv(Path(labels_csv), folder, files, name)
    elif labels == "folders":
        flat = [p for p in files if len(p.relative_to(folder).parts) < 2]
        if flat:
            raise ImageDataError(
                f"{flat[0]}: not in a class sub-folder ({_setting(name, 'labels')}: folders needs "
                f"{folder}/<class>/<image>; {len(flat)} such files)"
            )
        by_file = {p.relative_to(folder).as_posix(): p.relative_to(folder).parts[0] for p in files}
    pixels, source, skipped = [], [], []
    for path in files:
        rel = path.relative_to(folder).as_posix()
        try:
            pixels.append(_open(path))
        except Exception as exc:  # Pillow raises OSError, ValueError, SyntaxError, DecompressionBombError...
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            if not skip_unreadable:
                raise ImageDataError(
                    f"{path}: not a readable image ({reason}); "
                    f"{_setting(name, 'skip_unreadable')}: true skips such files"
                ) from None
            skipped.append((rel, reason))
            continue
        source.append(rel)
    if not pixels:
        raise ImageDataError(
            f"{folder}: none of its {len(files)} image files could be read (first: {skipped[0][0]}: {skipped[0][1]})"
        )
    names = [by_file[s] for s in source] if labels != "none" else None
    return _assemble(pixels, names, source, image_size, channels, name, where=str(folder), skipped=skipped)


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


def _assemble(
    pixels: list[np.ndarray],
    names,
    source: list[str],
    image_size,
    channels,
    name: str,
    where: str,
    skipped=(),
    split=None,
) -> ImageData:
    """Resize and convert decoded images ([H, W] or [H, W, 3] uint8) into an :class:`ImageData`."""
    size = parse_size(image_size, name)
    if size is None:
        shapes = {p.shape[:2] for p in pixels}
        if len(shapes) > 1:
            (a, sa), (b, sb) = _two_sizes(pixels, source)
            raise ImageDataError(
                f"{where}: images of different sizes ({a} is {sa[0]}x{sa[1]}, {b} is {sb[0]}x{sb[1]}, "
                f"height x width); set {_setting(name, 'image_size')}"
            )
        size = shapes.pop()
    if channels is None:
        channels = 3 if any(p.ndim == 3 for p in pixels) else 1
    if channels not in (1, 3):
        raise ImageDataError(f"{_setting(name, 'channels')}: {channels} (expected 1 grey or 3 RGB)")
    out = np.empty((len(pixels), *((3,) if channels == 3 else ()), *size), dtype=np.uint8)
    for i, p in enumerate(pixels):
        out[i] = _convert(p, size, channels)
    if names is None:
        labels, label_names = np.full(len(pixels), UNLABELLED, dtype=np.int64), []
    else:
        labels, label_names = _class_ids(names, where, name)
    return ImageData(out, labels, label_names, list(source), split, list(skipped))


def _two_sizes(pixels, source):
    first = pixels[0].shape[:2]
    other = next(i for i, p in enumerate(pixels) if p.shape[:2] != first)
    return (source[0], first), (source[other], pixels[other].shape[:2])


def _convert(p: np.ndarray, size: tuple[int, int], channels: int) -> np.ndarray:
    """One uint8 image to ``size`` and ``channels``: [H, W] or [3, H, W]."""
    from PIL import Image

    if p.shape[:2] != size:
        im = Image.fromarray(p)
        p = np.asarray(im.resize((size[1], size[0]), Image.Resampling.BILINEAR), dtype=np.uint8)
    if channels == 1:
        if p.ndim == 3:  # ITU-R 601-2 luma, as Pillow's convert("L")
            p = np.asarray(Image.fromarray(p).convert("L"), dtype=np.uint8)
        return p
    if p.ndim == 2:
        p = np.repeat(p[..., None], 3, axis=2)
    return np.moveaxis(p, 2, 0)


# ---- arrays ---------------------------------------------------------------------------


def _to_uint8(a: np.ndarray, path: Path) -> np.ndarray:
    """Pixel values scaled to [0, 255] uint8: uint8 as is, other integers by their type's
    range, booleans 0/1, floats in [0, 1] as they are and other floats by their min..max."""
    if a.dtype == np.uint8:
        return a
    if a.dtype == np.bool_:
        return a.astype(np.uint8) * 255
    if np.issubdtype(a.dtype, np.integer):
        info = np.iinfo(a.dtype)
        lo = 0 if a.min() >= 0 else info.min
        return np.round((a.astype(np.float64) - lo) / (info.max - lo) * 255).astype(np.uint8)
    lo, hi = float(a.min()), float(a.max())
    if lo >= 0 and hi <= 1:
        scaled = a
    elif hi > lo:
        scaled = (a - lo) / (hi - lo)
    else:
        scaled = np.zeros_like(a)
    return np.round(np.asarray(scaled, dtype=np.float64) * 255).astype(np.uint8)


def _load_array(path: Path, key: str | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    try:
        if path.suffix == ".npz":
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            key = key or ("images" if "images" in arrays else (f"{next(iter(arrays))}" if len(arrays) == 1 else None))
            if key is None or key not in arrays:
                raise ImageDataError(
                    f"{path}: no array {key or 'images'!r} in it (holds {', '.join(sorted(arrays)) or 'nothing'})"
                )
            return arrays[key], arrays
        return np.load(path, allow_pickle=False), {}
    except ImageDataError:
        raise
    except Exception as exc:  # not an npy/npz, pickled objects, truncated
        raise ImageDataError(
            f"{path}: not a readable .npy/.npz array ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
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
    if not path.is_file():
        raise ImageDataError(f"{path}: no such file ({_setting(name, 'path')})")
    if path.suffix not in (".npy", ".npz"):
        raise ImageDataError(f"{path}: expected an .npy or .npz file ({_setting(name, 'path')})")
    a, others = _load_array(path, key)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
        raise ImageDataError(f"{path}: images have dtype {a.dtype} (expected numbers: integers, floats or booleans)")
    if np.iscomplexobj(a):
        raise ImageDataError(f"{path}: images have dtype {a.dtype} (expected real numbers)")
    ok = a.ndim == 3 or (a.ndim == 4 and a.shape[3] in (1, 3, 4))
    if not ok or len(a) == 0 or min(a.shape[1:3]) < 1:
        raise ImageDataError(
            f"{path}: images have shape {list(a.shape)} (expected [N, H, W] or [N, H, W, C] with C 1, 3 or 4)"
        )
    if np.issubdtype(a.dtype, np.floating):
        bad = ~np.isfinite(a)
        if bad.any():
            first = int(np.argwhere(bad)[0][0])
            raise ImageDataError(f"{path}: {int(bad.sum())} NaN or infinite values (first in image {first})")
    a = _to_uint8(a, path)
    if a.ndim == 4:
        a = a[..., 0] if a.shape[3] == 1 else a[..., :3]
    names = None
    if labels == "array":
        names = _array_labels(path, others, labels_path, len(a), name)
    elif labels != "none":
        raise ImageDataError(f"{_setting(name, 'labels')}: {labels!r} (expected array or none for an array)")
    split = others.get("split")
    if split is not None:
        split = np.asarray(split).astype(str)
        if len(split) != len(a) or not set(split.tolist()) <= {"train", "test"}:
            raise ImageDataError(f"{path}: 'split' must give train or test for each of the {len(a)} images")
    source = [f"{path.name}[{i}]" for i in range(len(a))]
    if channels is None:
        channels = 3 if a.ndim == 4 else 1
    return _assemble(list(a), names, source, image_size, channels, name, where=str(path), split=split)


def _array_labels(path: Path, others: dict, labels_path, n: int, name: str) -> list:
    where = path
    if labels_path is not None:
        where = Path(labels_path)
        if not where.is_file():
            raise ImageDataError(f"{where}: labels file not found ({_setting(name, 'labels_path')})")
        lab, more = _load_array(where, "labels" if where.suffix == ".npz" else None)
    elif "labels" in others:
        lab = others["labels"]
    else:
        raise ImageDataError(
            f"{path}: no 'labels' array in it; give {_setting(name, 'labels_path')} or set labels: none"
        )
    lab = np.asarray(lab)
    if lab.ndim != 1 or len(lab) != n:
        raise ImageDataError(f"{where}: labels have shape {list(lab.shape)} (expected [{n}], one per image)")
    if np.issubdtype(lab.dtype, np.floating):
        if not np.isfinite(lab).all() or not np.all(lab == np.round(lab)):
            raise ImageDataError(f"{where}: labels must be integers or names (found non-integer or NaN values)")
        lab = lab.astype(np.int64)
    return lab.tolist()


def read_source(ds: dict, name: str) -> ImageData:
    """The images a dataset entry of the config (``source: folder`` or ``array``) describes."""
    common = dict(image_size=ds.get("image_size"), channels=ds.get("channels"), name=name)
    if ds["source"] == "folder":
        return read_folder(
            ds["path"], ds["labels"], ds.get("labels_csv"), skip_unreadable=ds.get("skip_unreadable", False), **common
        )
    if ds["source"] == "array":
        return read_array(ds["path"], ds["labels"], ds.get("labels_path"), **common)
    raise ImageDataError(f"{_setting(name, 'source')}: {ds['source']!r} (expected idx, folder or array)")


# ---- from the normalised file to the subsets' pool -------------------------------------


def holdout_split(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """``train`` / ``test`` per image: a seeded ``fraction`` of each class (of all images
    when unlabelled) held out as ``test``, at least one per class when fraction > 0."""
    split = np.full(len(labels), "train", dtype="<U5")
    if fraction <= 0:
        return split
    rng = np.random.default_rng(seed)
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n = max(1, int(round(fraction * len(members))))
        if n >= len(members):
            raise ImageDataError(f"holdout: {fraction} of {len(members)} images of class {c} leaves none to train on")
        split[rng.choice(members, size=n, replace=False)] = "test"
    return split


def as_pool(data: dict[str, np.ndarray], split: np.ndarray) -> tuple[dict[str, np.ndarray], int]:
    """The normalised data reordered train part first, then test (the order make_subsets'
    pools expect, as MNIST's train + test); returns (arrays, number of training images)."""
    order = np.concatenate([np.flatnonzero(split == "train"), np.flatnonzero(split == "test")])
    arrays = {k: data[k][order] for k in ("images", "labels", "source")}
    arrays["split"] = split[order]
    return arrays, int((split == "train").sum())
