"""Which files of a folder are the user's images: one answer for the workflow's parse time
(class count, image count, empty folder) and for the import step (:func:`aeclust.images.image_files`).

Image files are found by suffix, recursively; hidden files and folders (a leading dot)
are left out. Symbolic links, to files or to folders, are followed when their target lies
inside the folder; a link that leads outside it (or nowhere, or back up into a folder it
sits in) is skipped and counted, so the images are the folder's own whatever the links do.

Standard library only: the workflow loads this file by its path at parse time (aeclust.config).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


@dataclass(frozen=True)
class Found:
    """What :func:`discover` found under ``folder``; paths are relative to it, sorted."""

    folder: Path
    files: list[Path] = field(default_factory=list)  # image files (through links that stay inside)
    skipped_links: list[Path] = field(default_factory=list)  # links leading outside, nowhere or into a loop

    @property
    def paths(self) -> list[Path]:
        """The image files as ``folder / relative path``."""
        return [self.folder / f for f in self.files]

    @property
    def classes(self) -> list[str]:
        """Names of the sub-folders holding image files (the classes when labels come from folders)."""
        return sorted({f.parts[0] for f in self.files if len(f.parts) > 1})

    @property
    def flat(self) -> int:
        """How many image files lie directly in the folder (in no sub-folder)."""
        return sum(len(f.parts) == 1 for f in self.files)

    def state(self) -> str:
        """A digest of what the folder holds now: each image file's relative path, size and
        modification time. Images replaced in place leave the folder's own time unchanged, so
        the workflow compares this instead (a changed digest reimports the folder)."""
        h = hashlib.sha256()
        for rel, path in zip(self.files, self.paths):
            st = path.stat()
            h.update(f"{rel.as_posix()}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        return h.hexdigest()[:16]

    def skipped_note(self) -> str:
        """One line on the skipped links, empty when there are none."""
        if not self.skipped_links:
            return ""
        n = len(self.skipped_links)
        return (
            f"{self.folder}: {n} symbolic link{'s' if n > 1 else ''} skipped, leading outside the folder, "
            f"nowhere or into a folder they lie in (first: {self.skipped_links[0].as_posix()})"
        )


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def discover(folder: str | os.PathLike) -> Found:
    """The image files under ``folder`` (see the module docstring); a missing folder has none."""
    folder = Path(folder)
    root = os.path.realpath(folder)
    files: list[Path] = []
    skipped: list[Path] = []
    chains = {str(folder): {root}}  # per folder walked: the real folders it lies in (cycles end there)
    for here, dirs, names in os.walk(folder, followlinks=True):
        rel_here = Path(here).relative_to(folder)
        chain = chains.pop(here)
        keep = []
        for d in sorted(dirs):
            if d.startswith("."):
                continue
            path = os.path.join(here, d)
            target = os.path.realpath(path)
            # a link leading outside the folder, or into a folder it already lies in (a cycle)
            if os.path.islink(path) and (not _inside(target, root) or target in chain):
                skipped.append(rel_here / d)
                continue
            chains[path] = chain | {target}
            keep.append(d)
        dirs[:] = keep
        for n in names:
            if n.startswith(".") or not n.lower().endswith(SUFFIXES):
                continue
            path = os.path.join(here, n)
            if os.path.islink(path):
                target = os.path.realpath(path)
                if not _inside(target, root) or not os.path.isfile(target):
                    skipped.append(rel_here / n)
                    continue
            files.append(rel_here / n)
    key = Path.as_posix
    return Found(folder, sorted(files, key=key), sorted(skipped, key=key))


def image_files(folder: str | os.PathLike) -> list[Path]:
    """The image files under ``folder`` as ``folder / relative path``, sorted by relative path."""
    return discover(folder).paths
