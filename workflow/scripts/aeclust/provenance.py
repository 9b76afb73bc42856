"""Which code made a result: the git commit of the checkout (``"unknown"`` outside a git
clone) and a SHA-256 of the library files the job has loaded. Every settings and
metrics JSON records it (``provenance``), so that numbers credited to a commit can be
checked to come from that commit's code (bench/full_table.py refuses to mix results
whose code differs, :func:`conflicts`).

Stdlib only; the library knows nothing of Snakemake.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

LIBRARY = Path(__file__).resolve().parent


def git_commit(where: Path = LIBRARY) -> str:
    """The commit checked out at ``where`` (40 hex digits), or ``"unknown"``."""
    try:
        out = subprocess.run(["git", "-C", str(where), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = out.stdout.strip()
    return commit if out.returncode == 0 and len(commit) == 40 else "unknown"


def loaded_library_files() -> list[Path]:
    """The library's files that this process has imported, by name."""
    files = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().parent == LIBRARY:
            files.add(Path(path).resolve())
    return sorted(files, key=lambda p: p.name)


def file_hashes(files: list[Path] | None = None) -> dict[str, str]:
    """SHA-256 of each of ``files`` (default: the library files loaded), by file name."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in (files if files is not None else loaded_library_files())
    }


def library_hash(hashes: dict[str, str]) -> str:
    """One SHA-256 over the per-file hashes (names and digests, in name order)."""
    return hashlib.sha256("".join(f"{n}\0{h}\n" for n, h in sorted(hashes.items())).encode()).hexdigest()


def provenance() -> dict:
    """``{"provenance": {"commit", "library_sha256", "library_files": {name: sha256}}}``, to merge into a JSON.

    Only the library files this job loaded count: a result is made by those, and two results
    disagree about the code only where they both loaded a file and its bytes differ
    (:func:`conflicts`)."""
    hashes = file_hashes()
    return {"provenance": {"commit": git_commit(), "library_sha256": library_hash(hashes), "library_files": hashes}}


def conflicts(records: dict[str, dict]) -> list[str]:
    """Why the results ``records`` (path -> parsed JSON) were not all made by the same code:
    a result with no provenance, or a library file whose hash differs between results.
    Empty when they agree."""
    out, seen = [], {}
    for path, rec in records.items():
        prov = rec.get("provenance") if isinstance(rec, dict) else None
        if not prov:
            out.append(f"{path}: no provenance (made before results recorded their code; rebuild it)")
            continue
        for name, digest in prov["library_files"].items():
            first = seen.setdefault(name, (digest, path, prov["commit"]))
            if first[0] != digest:
                out.append(
                    f"{name} differs: {first[1]} (commit {first[2][:10]}) and {path} (commit {prov['commit'][:10]})"
                )
    return out
