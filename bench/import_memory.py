"""Peak memory and speed of importing a folder of photos at a small size.

For each N (default 10 and 100) it writes N JPEGs of 4000x3000 (photo-like: smooth colour
and fine noise, ~1.8 MB each) into a temporary folder, imports them at 32x32 in a fresh
process (aeclust.images.read_folder, threads 1 and 2) and prints that process's peak RSS
(getrusage RUSAGE_CHILDREN, so any process the import starts counts too) and its time.
The peak should not grow with N: the import keeps one decoded image per thread.

    python bench/import_memory.py [N ...]
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
CHILD = """
import sys, time
sys.path.insert(0, {scripts!r})
from aeclust.images import read_folder
start = time.perf_counter()
data = read_folder({folder!r}, image_size=32, threads={threads})
print(data.images.shape, time.perf_counter() - start)
"""
WRAPPER = """
import resource, subprocess, sys
out = subprocess.run([sys.executable, "-c", sys.argv[1]], capture_output=True, text=True, check=True)
print(out.stdout.strip(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def photo(seed: int, width: int = 4000, height: int = 3000) -> bytes:
    rng = np.random.default_rng(seed)
    coarse = Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    pixels = np.asarray(coarse.resize((width, height), Image.Resampling.BICUBIC)).copy()
    pixels += rng.integers(0, 12, pixels.shape, dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "JPEG", quality=90)
    return out.getvalue()


def measure(folder: Path, threads: int) -> tuple[str, float, float]:
    """(shape, seconds, peak RSS in MB) of one import in a fresh process."""
    child = CHILD.format(scripts=str(SCRIPTS), folder=str(folder), threads=threads)
    out = subprocess.run([sys.executable, "-c", WRAPPER, child], capture_output=True, text=True, check=True)
    *shape, seconds, peak_kb = out.stdout.split()
    return " ".join(shape), float(seconds), int(peak_kb) / 1024


def main(counts: list[int]) -> None:
    photos = [photo(s) for s in range(4)]  # four different files, repeated
    print(f"load average {os.getloadavg()[0]:.2f}; JPEGs of 4000x3000, {len(photos[0]) / 1e6:.1f} MB each")
    print(f"{'N':>5} {'threads':>7} {'peak RSS MB':>12} {'seconds':>8} {'images/s':>9}  shape")
    for n in counts:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for i in range(n):
                (folder / f"{i:05d}.jpg").write_bytes(photos[i % len(photos)])
            for threads in (1, 2):
                shape, seconds, peak = measure(folder, threads)
                print(f"{n:>5} {threads:>7} {peak:>12.0f} {seconds:>8.2f} {n / seconds:>9.0f}  {shape}")
    full = 4000 * 3000 * 3 / 2**20
    print(
        f"decoded in full and kept, each photo would take {full:.0f} MB ({counts[-1]} photos: {counts[-1] * full:,.0f} MB)"
    )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10, 100])
