import numpy as np
import pytest
from aeclust.intervals import interval, mean_sd_ci, paired, t_quantile, welch
from aeclust.metrics import align, counts, evaluate
from scipy import stats


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


def test_hungarian_is_one_to_one_where_majority_is_not():
    # cluster 0: three 0s; cluster 1: two 0s and a 1; cluster 2: two 2s. Many-to-one majority
    # maps clusters 0 and 1 both to class 0 (7 of 8 correct); Hungarian matching must give
    # each cluster its own class: 1 -> 1, so 3 + 1 + 2 = 6 of 8.
    labels = np.array([0, 0, 0, 0, 0, 1, 2, 2])
    clusters = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    majority = {c: int(np.bincount(labels[clusters == c]).argmax()) for c in range(3)}
    assert majority == {0: 0, 1: 0, 2: 2}  # the case really separates the two rules
    assert align(labels, clusters, n_classes=3) == {0: 0, 1: 1, 2: 2}
    metrics, cm = evaluate(labels, clusters, n_classes=3)
    assert metrics["accuracy"] == pytest.approx(6 / 8)
    assert cm.tolist() == [[3, 2, 0], [0, 1, 0], [0, 0, 2]]


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
    assert mean_sd_ci([0.4])["ci_low"] == mean_sd_ci([0.4])["ci_high"] == 0.4


def test_prediction_interval_for_one_new_run():
    # 5 seeds: mean 0.60, sd sqrt(0.00025); t(0.975, 4) = 2.776445
    values = [0.58, 0.59, 0.60, 0.61, 0.62]
    s = mean_sd_ci(values)
    sd = np.sqrt(0.00025)
    assert s["sd"] == pytest.approx(sd)
    assert s["pi_high"] - s["mean"] == pytest.approx(2.776445 * sd * np.sqrt(1 + 1 / 5), rel=1e-6)
    assert s["ci_high"] - s["mean"] == pytest.approx(2.776445 * sd / np.sqrt(5), rel=1e-6)
    # the study's K-Means number (one run) lies inside where one run falls, outside the interval of the mean
    assert s["pi_low"] < 0.5550 < s["ci_low"]
    assert interval(0.6, sd, 5, prediction=True) == pytest.approx((s["pi_low"], s["pi_high"]))
    assert np.isnan(interval(0.6, 0.1, 1)[0])


def test_paired_and_welch_differ_where_seeds_share_randomness():
    # each seed's b is its a plus ~0.01: the seeds spread far more than the difference
    a = {0: 0.50, 1: 0.60, 2: 0.70}
    b = {0: 0.511, 1: 0.609, 2: 0.712}
    p = paired(a, b)
    d = np.array([b[k] - a[k] for k in a])
    assert p["test"] == "paired t" and p["diff"] == pytest.approx(d.mean())
    assert p["p"] == pytest.approx(stats.ttest_rel(list(b.values()), list(a.values())).pvalue)
    half = stats.t.ppf(0.975, 2) * d.std(ddof=1) / np.sqrt(3)
    assert (p["ci_low"], p["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert p["ci_low"] > 0  # paired: b is better
    w = welch(
        np.mean(list(a.values())),
        np.std(list(a.values()), ddof=1),
        3,
        np.mean(list(b.values())),
        np.std(list(b.values()), ddof=1),
        3,
    )
    assert w["test"] == "Welch" and w["ci_low"] < 0 < w["ci_high"]  # unpaired: not distinguishable
    assert paired(a, {0: 0.6})["n_a"] == 1 and np.isnan(paired(a, {0: 0.6})["ci_low"])  # only shared seeds count


def test_t_distribution_is_scipy_stats_own():
    # intervals takes t from scipy.special (a lighter import than scipy.stats): the same numbers
    for n in range(2, 40):
        for confidence in (0.9, 0.95, 0.99):
            assert t_quantile(n, confidence) == float(stats.t.ppf(0.5 + confidence / 2, n - 1)), (n, confidence)
    w = welch(0.60, 0.02, 3, 0.63, 0.05, 4)
    ref = stats.ttest_ind_from_stats(0.63, 0.05, 4, 0.60, 0.02, 3, equal_var=False)
    assert w["p"] == pytest.approx(ref.pvalue, rel=1e-12) and 0.2 < w["p"] < 0.5
    se = np.sqrt(0.02**2 / 3 + 0.05**2 / 4)
    assert w["ci_high"] - w["diff"] == pytest.approx(stats.t.ppf(0.975, w["df"]) * se, rel=1e-12)


def test_counts_are_scikit_learns_confusion_matrix():
    # metrics.counts is np.bincount, so that alignment needs no scikit-learn import
    from sklearn.metrics import confusion_matrix

    rng = np.random.default_rng(0)
    cases = [
        (rng.integers(0, 10, 500), rng.integers(0, 10, 500)),
        (rng.integers(0, 10, 1000), rng.integers(0, 12, 1000)),
    ]
    a, b = cases[1]
    assert np.array_equal(counts(a, b, 10, 12), confusion_matrix(a, b, labels=np.arange(12))[:10, :12])
    b = b.copy()
    b[:5] = [-1, 12, 13, 99, -7]  # ids outside the table are not counted, as scikit-learn does
    assert np.array_equal(counts(a, b, 10, 10), confusion_matrix(a, b, labels=np.arange(10)))
