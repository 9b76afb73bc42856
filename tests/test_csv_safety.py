"""Every CSV a user opens: text cells that a spreadsheet would run as a formula are escaped
with a leading quote (OWASP's advice on CSV injection); numbers stay numbers."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
from aeclust.images import read_folder
from aeclust.io import save_csv, save_table, spreadsheet_safe
from imagegen import make_folder
from PIL import Image


def cells(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def test_formula_cells_are_escaped_and_numbers_are_not():
    for value in ("=1+1", "+1", "-x", "@SUM(A1)", "\tx", "\rx"):
        assert spreadsheet_safe(value) == "'" + value
    for value in ("a.png", "", "1", -0.5, 3, None, np.int64(-2)):
        assert spreadsheet_safe(value) is value


def test_a_users_file_and_class_names_in_a_table(tmp_path):
    root = tmp_path / "d"
    make_folder(root, per_class=2, corrupt=False)
    (root / "red").rename(root / "+1")  # a class named +1
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(root / "green" / '=HYPERLINK("x").png')
    data = read_folder(root, labels="folders")
    assert "+1/000.png" in data.source and 'green/=HYPERLINK("x").png' in data.source
    flat = read_folder(root / "green")  # in a folder of its own the name starts the cell
    assert '=HYPERLINK("x").png' in flat.source
    table = pd.DataFrame(
        {
            "source": data.source + flat.source,
            "label": [data.label_names[i] for i in data.labels] + ["green"] * len(flat.source),
            "kmeans/raw/s0": pd.array(np.arange(len(data.source) + len(flat.source)) - 1, dtype="Int64"),
            "gmm/raw/s0/confidence": np.linspace(-0.5, 1, len(data.source) + len(flat.source)),
        }
    )
    save_table(tmp_path / "clusters.csv", table)
    rows = cells(tmp_path / "clusters.csv")
    by_source = {r[0]: r for r in rows[1:]}
    assert '\'=HYPERLINK("x").png' in by_source and '=HYPERLINK("x").png' not in by_source
    assert all(r[1] == "'+1" for r in rows[1:] if r[0].startswith("+1/"))  # the label; the path starts with +
    assert rows[1][2] == "-1" and rows[1][3] == "-0.5"  # numeric columns: numbers as they were
    assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r[:2])
    table.to_csv(tmp_path / "plain.csv", index=False)  # what the writer did before
    assert cells(tmp_path / "plain.csv")[1:] != rows[1:]


def test_save_csv_escapes_header_and_text_cells(tmp_path):
    save_csv(tmp_path / "t.csv", ["true", "=cmd"], [[0, "-1+1"], [-3, "ok"]])
    assert cells(tmp_path / "t.csv") == [["true", "'=cmd"], ["0", "'-1+1"], ["-3", "ok"]]


def test_tables_without_formulas_are_written_as_before(tmp_path):
    table = pd.DataFrame({"method": ["kmeans/raw", "gmm/ae_e2_umap"], "acc": [0.5, -0.25], "n": [3, -4]})
    save_table(tmp_path / "a.csv", table)
    table.to_csv(tmp_path / "b.csv", index=False)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    save_table(tmp_path / "a.tsv", table)
    assert (tmp_path / "a.tsv").read_text().splitlines()[1] == "kmeans/raw\t0.5\t3"
