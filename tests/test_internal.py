"""Without labels: internal criteria, cluster sizes, the images nearest each centre, clusters.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from aeclust.clusters_csv import clusters_table, column
from aeclust.gallery import plot_cluster_grid
from aeclust.internal import criteria, internal_markdown, internal_table, nearest_to_centres


def blobs(seed=0, n=30, spread=0.3):
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0], [5, 0], [0, 5]], dtype=float)
    x = np.concatenate([c + rng.normal(0, spread, (n, 2)) for c in centres])
    return x, np.repeat([0, 1, 2], n)


def test_criteria_rank_a_good_clustering_above_a_shuffled_one():
    x, truth = blobs()
    good = criteria(x, truth, None, 0)
    bad = criteria(x, np.random.default_rng(1).permutation(truth), None, 0)
    assert good["silhouette"] > 0.8 and bad["silhouette"] < 0.05
    assert good["calinski_harabasz"] > 50 * bad["calinski_harabasz"]
    assert good["davies_bouldin"] < 0.3 < bad["davies_bouldin"]
    assert good["sizes"] == {"0": 30, "1": 30, "2": 30} and good["clusters_found"] == 3
    sampled = criteria(x, truth, 40, 0)
    assert sampled["silhouette"] != good["silhouette"] and abs(sampled["silhouette"] - good["silhouette"]) < 0.05
    assert np.isnan(criteria(x, np.zeros(90, int), None, 0)["silhouette"])  # one cluster: undefined


def test_table_and_markdown_over_seeds():
    x, truth = blobs()
    records = [{"method": "kmeans/raw", "seed": s, **criteria(x, truth, None, s)} for s in (0, 1)]
    records.append({"method": "kmeans/ae_e2", "seed": 0, **criteria(x, np.where(truth == 2, 1, truth), None, 0)})
    table = internal_table(records)
    assert list(table["method"]) == ["kmeans/raw", "kmeans/ae_e2"]
    assert table.loc[0, "seeds"] == 2 and table.loc[0, "silhouette_sd"] == 0.0
    assert table.loc[1, "smallest_cluster"] == 30 and table.loc[1, "largest_cluster"] == 60
    md = internal_markdown(table, [0, 1], "shapes", 3, skipped=1, grids=["figures/clusters/kmeans_raw.png"])
    assert "| K-Means on pixels (`kmeans/raw`) | 0.895 ± 0.000 |" in md and "1 unreadable files were skipped" in md
    assert "No labels: no accuracy, NMI, ARI or study claims" in md and "| accuracy" not in md
    labelled = internal_markdown(table, [0, 1], "shapes", 3, labelled=True)
    assert "No labels" not in labelled and "summary.md" in labelled
    assert "`kmeans/ae_e2`: s0: 60 30" in md and "figures/clusters/kmeans_raw.png" in md


def test_nearest_to_centres():
    x = np.array([[0.0], [1.0], [2.0], [10.0], [11.0], [30.0]])
    picks = nearest_to_centres(x, np.array([0, 0, 0, 1, 1, 1]), 2)
    assert picks[0].tolist() == [1, 0] and picks[1].tolist() == [4, 3]  # centres 1 and 17


def test_clusters_table_one_row_per_image():
    src0, src1 = np.array(["a.png", "b.png", "c.png"]), np.array(["b.png", "d.png", "a.png"])
    runs = [
        {
            "method": "kmeans/raw",
            "seed": 0,
            "source": src0,
            "clusters": np.array([0, 1, 1]),
            "labels": np.array([0, 1, 1]),
        },
        {
            "method": "kmeans/raw",
            "seed": 1,
            "source": src1,
            "clusters": np.array([2, 0, 1]),
            "labels": np.array([1, 0, 0]),
        },
        {
            "method": "gmm/raw",
            "seed": 0,
            "source": src0,
            "clusters": np.array([1, 0, 0]),
            "confidence": np.array([0.9, 0.5, 0.75]),
            "labels": np.array([0, 1, 1]),
        },
    ]
    t = clusters_table(runs, ["cat", "dog"])
    assert t["source"].tolist() == ["a.png", "b.png", "c.png", "d.png"]
    assert t["label"].tolist() == ["cat", "dog", "dog", "cat"]
    assert t[column("kmeans/raw", 1)].tolist()[:2] == [1, 2] and pd.isna(t[column("kmeans/raw", 1)][2])
    assert t[column("gmm/raw", 0, True)].tolist()[:3] == [0.9, 0.5, 0.75]
    assert column("kmeans/raw", 0, True) not in t
    unlabelled = [{**r, "labels": np.full(3, -1)} for r in runs]
    assert "label" not in clusters_table(unlabelled)


@pytest.mark.parametrize("shape", [(12, 16, 16), (12, 3, 16, 16)])
def test_grid_figure_grey_and_colour(tmp_path, shape):
    images = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    plot_cluster_grid(images, {0: np.array([0, 1, 2]), 1: np.array([5])}, {0: 8, 1: 4}, tmp_path / "g.png", "grid")
    assert (tmp_path / "g.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "g.png").stat().st_size > 2000
