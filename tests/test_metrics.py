import numpy as np
import pytest

from aeclust.metrics import align, evaluate, mean_sd_ci


def test_permuted_labelling_is_perfect():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 500)
    perm = rng.permutation(10)
    metrics, cm = evaluate(labels, perm[labels])
    assert metrics["accuracy"] == 1.0
    assert metrics["nmi"] == pytest.approx(1.0)
    assert metrics["ari"] == pytest.approx(1.0)
    assert np.array_equal(np.diag(cm), np.bincount(labels, minlength=10))


def test_known_contingency_table():
    # class 0: clusters 1,1,1,0 ; class 1: clusters 0,0,1 ; best mapping 1->0, 0->1: 3 + 2 correct of 7
    labels = np.array([0, 0, 0, 0, 1, 1, 1])
    clusters = np.array([1, 1, 1, 0, 0, 0, 1])
    mapping = align(labels, clusters, n_classes=2)
    assert mapping == {1: 0, 0: 1}
    metrics, cm = evaluate(labels, clusters, n_classes=2)
    assert metrics["accuracy"] == pytest.approx(5 / 7)
    assert cm.tolist() == [[3, 1], [1, 2]]
    assert metrics["per_class_recall"] == pytest.approx([3 / 4, 2 / 3])


def test_greedy_would_be_wrong():
    # a greedy argmax per cluster maps both clusters to class 0; Hungarian must not
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1])
    clusters = np.array([0, 0, 0, 1, 1, 1, 1, 1])
    metrics, _ = evaluate(labels, clusters, n_classes=2)
    assert metrics["accuracy"] == pytest.approx(6 / 8)


def test_hand_computed_nmi_ari():
    # two equal halves, clusters independent of labels: NMI 0, ARI slightly negative
    labels = np.array([0, 0, 1, 1])
    clusters = np.array([0, 1, 0, 1])
    metrics, _ = evaluate(labels, clusters, n_classes=2)
    assert metrics["nmi"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["ari"] == pytest.approx(-0.5)
    assert metrics["accuracy"] == pytest.approx(0.5)


def test_mean_sd_ci():
    s = mean_sd_ci([0.5, 0.6, 0.7])
    assert s["mean"] == pytest.approx(0.6)
    assert s["sd"] == pytest.approx(0.1)
    # t(0.975, 2) = 4.3027 ; half width = 4.3027 * 0.1 / sqrt(3)
    assert s["ci_high"] - s["mean"] == pytest.approx(4.302653 * 0.1 / np.sqrt(3), rel=1e-5)
    assert mean_sd_ci([0.4])["sd"] == 0.0
