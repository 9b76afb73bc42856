"""A failed job's one-line error reaches the terminal that ran Snakemake (profiles/default:
show-failed-logs), and a hostile mirror cannot fill the disk through the workflow."""

from __future__ import annotations

import gzip
import zlib

import pytest
from conftest import overlay, snakemake
from imagegen import make_folder

pytestmark = pytest.mark.e2e  # every test here runs the workflow

FOLDER = """
experiment: tiny
dataset: shapes
datasets:
  shapes: {source: folder, path: shapes, skip_unreadable: false}
subsets:
  cluster: {split: all, per_class: null}
  train: {split: all, per_class: null, exclude_cluster: false}
denoise: {enabled: false}
"""


def test_a_corrupt_image_is_named_in_snakemakes_own_output(tmp_path):
    make_folder(tmp_path / "shapes", per_class=12)  # with red/zz_broken.png, a truncated PNG
    proc = snakemake(tmp_path, "--cores", "4", configfile=overlay(tmp_path, FOLDER), check=False)
    terminal = proc.stdout + proc.stderr
    assert proc.returncode != 0, terminal[-3000:]
    line = next((ln for ln in terminal.splitlines() if "rule import_images failed:" in ln), None)
    assert line is not None, terminal[-5000:]
    assert "zz_broken.png: not a readable image" in line and "skip_unreadable: true" in line, line


def test_a_gzip_bomb_on_a_local_mirror_is_refused_and_leaves_nothing(tmp_path, mirror):
    """train-images .gz of MNIST's own header and 256 MiB of zeros (about 250 KB): the
    download stops at the 47,040,016 bytes the header declares and says so in the terminal."""
    with gzip.open(mirror / "train-images-idx3-ubyte.gz") as f:
        header = f.read(16)
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [z.compress(header)] + [z.compress(bytes(1 << 20)) for _ in range(256)] + [z.flush()]
    bombs = tmp_path / "bombs"
    bombs.mkdir()
    (bombs / "train-images-idx3-ubyte.gz").write_bytes(b"".join(parts))
    text = """
download: {timeout: 1, retries: 0}
datasets: {mnist: {mirrors: ["http://127.0.0.1:9/"]}}
"""
    target = "data/mnist/train-images-idx3-ubyte"
    proc = snakemake(
        tmp_path,
        "--cores",
        "4",
        target,
        configfile=overlay(tmp_path, text),
        env={"AECLUST_MIRROR": str(bombs)},
        check=False,
    )
    terminal = proc.stdout + proc.stderr
    assert proc.returncode != 0, terminal[-3000:]
    line = next((ln for ln in terminal.splitlines() if "rule download_dataset failed:" in ln), None)
    assert line is not None, terminal[-5000:]
    assert "train-images-idx3-ubyte" in line, line
    assert "refused: decompresses to more than 47,040,016 bytes, the size its IDX header declares" in line, line
    data = tmp_path / "data"  # Snakemake removes the failed job's empty folder; a temporary would keep it
    assert not data.exists() or [p for p in data.rglob("*") if p.is_file()] == [], list(data.rglob("*"))
